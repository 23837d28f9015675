"""Directory -> Currencies in a real browser: an accountant previews a CSV of rates, imports
it, and reads the rates list, at a desktop's and a phone's width (no sideways scrolling).
Screenshots go to var/screenshots/ to look at."""

from datetime import date

import pytest

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing import demo
from billing.models import ExchangeRate
from tests.factories.accounts import PASSWORD, StaffFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (b"date,base,quote,rate\n2026-11-01,EUR,GBP,0.8712\n2026-11-02,EUR,GBP,0.8720\n"
       b"2026-11-02,EUR,XYZ,1\n")


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth + 1")


def test_an_accountant_previews_and_imports_rates(page, shoot, tmp_path):
    demo.seed(today=date(2026, 11, 27))
    accountant = StaffFactory(email="acc@example.com")
    accountant.groups.add(department_sync(name="Accounting",
                                          codenames=DEFAULT_DEPARTMENTS["Accounting"]))
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_bytes(CSV)
    good.write_bytes(CSV.rsplit(b"2026-11-02,EUR,XYZ", 1)[0])
    before = ExchangeRate.objects.count()
    browser_sign_in(page, accountant.email, PASSWORD, secret=totp_secret(accountant),
                    next_url="/staff/")

    page.goto("/staff/billing/exchangerate/")
    page.click("a:text('Import from CSV')")
    page.set_input_files("input[name=file]", str(bad))
    page.click("input[type=submit]")
    page.locator("td strong", has_text="XYZ is not an active currency").wait_for()
    shoot("staff-rates-import-errors")
    page.set_viewport_size({"width": 390, "height": 800})
    _no_sideways_scroll(page)
    shoot("staff-rates-import-errors-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    assert ExchangeRate.objects.count() == before

    page.set_input_files("input[name=file]", str(good))
    page.uncheck("input[name=dry_run]")
    page.click("input[type=submit]")
    page.wait_for_url("**/staff/billing/exchangerate/")
    assert "2 rates added" in page.locator(".messagelist").inner_text()
    shoot("staff-rates-list")
    page.set_viewport_size({"width": 390, "height": 800})
    shoot("staff-rates-list-390")
    assert ExchangeRate.objects.count() == before + 2
