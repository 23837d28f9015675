"""A new staff member must set up an authenticator app before the staff panel opens,
then signs in with the password and a code from it."""

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from accounts.models import ActionLog
from tests.factories.accounts import PASSWORD, StaffFactory
from tests.signin import totp_code

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_enrols_totp_then_signs_in_with_a_code(page, shoot):
    staff = StaffFactory(email="new.employee@example.com", second_factor=False)

    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/auth/login/\?next="))
    page.fill("input[name=login]", staff.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")

    # No staff screen before a second factor: first enrolment (after confirming the
    # password once more, as allauth asks before changing sign-in methods).
    expect(page).to_have_url(re.compile(r"/auth/(reauthenticate|2fa/totp/activate)/"))
    if "/auth/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/auth/2fa/totp/activate/"))
    expect(page.locator("img[src^='data:image/svg+xml']")).to_be_visible()
    shoot("staff-enrol-totp")
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("input[name=code]", totp_code(secret))
    page.click("form.form button[type=submit]")
    expect(page.locator("body")).to_contain_text("Recovery Codes")
    shoot("staff-recovery-codes")
    assert Authenticator.objects.filter(user=staff, type="totp").exists()

    page.goto("/staff/")
    expect(page.locator("#site-name")).to_contain_text("staff panel")
    page.click("#logout-form button")

    page.goto("/staff/login/?next=/staff/")
    page.fill("input[name=login]", staff.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/auth/2fa/authenticate/"))
    shoot("staff-sign-in-code")
    # The code of the next 30 seconds: the current one was used for the enrolment.
    page.fill("input[name=code]", totp_code(secret, step=1))
    page.click("form.form button[type=submit]")

    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.locator("#site-name")).to_contain_text("staff panel")
    assert ActionLog.objects.filter(action="mfa.added", actor=staff).exists()
    assert ActionLog.objects.filter(action="auth.signed_in", actor=staff).count() == 2
