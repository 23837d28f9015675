"""Errors answer with pages of our own, in the site's layout; the 500 page renders with
nothing behind it (no request, no database)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.template.loader import get_template
from django.test import Client as HttpClient

from tests.factories.accounts import ClientUserFactory


@pytest.mark.django_db
def test_a_missing_page_is_the_branded_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "brand-mark" in response.content.decode()


@pytest.mark.django_db
def test_another_client_s_row_is_the_branded_404(client):
    owner = ClientUserFactory(owner=True)
    client.force_login(owner.user)

    response = client.get("/finances/invoices/999999/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_a_form_without_its_token_gets_the_csrf_page(db):
    response = HttpClient(enforce_csrf_checks=True).post("/auth/login/", {"login": "x"})

    assert response.status_code == 403
    assert "The form has expired" in response.content.decode()
    assert "nothing was changed" in response.content.decode()


def test_the_500_page_renders_without_a_request_or_a_database(monkeypatch):
    def no_database(*args, **kwargs):
        raise AssertionError("the 500 page touched the database")

    monkeypatch.setattr(connections["default"], "cursor", no_database)

    html = get_template("500.html").render()  # as Django's server_error does

    assert "Something went wrong" in html
    assert "<script" not in html
