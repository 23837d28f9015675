"""Screenshots of the pages of a running platform (`make run`), to look at.

    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out var/screenshots]
        [--only REGEX] [--widths 1280,390]

Signs in with the demo logins and saves one PNG per page and width (``name.png`` at 1280
px, ``name-390.png`` on a phone). Uses Debian's Chromium.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

PASSWORD = "demo-password"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]

# (login, [(name, path)]) ; "staff-enter:<client email>" enters a client's area first.
PAGES = [
    (None, [("sign-in", "/auth/login/"), ("sign-up", "/auth/signup/"),
            ("password-reset", "/auth/password/reset/")]),
    ("client@example.com", [
        ("client-home", "/"), ("client-account", "/account/"),
        ("client-payers", "/account/payers/"), ("client-payer-new", "/account/payers/new/"),
        ("client-users", "/account/users/"), ("client-user-invite", "/account/users/invite/"),
        ("client-password", "/auth/password/change/"),
        ("client-services", "/services/"),
        ("client-services-filtered", "/services/?type=vps&status=active"),
        ("client-service-vps", "service:web-1.dana.example"),
        ("client-service-domain", "service:dana.example"),
        ("client-service-ssl", "service:SSL for dana.example"),
        ("client-service-daily", "service:test-box.dana.example"),
        ("client-add-funds", "/payments/add-funds/"),
        ("client-credits", "/payments/credits/"),
        ("client-invoices", "/finances/invoices/"),
        ("client-invoice-due", "first:/finances/invoices/:#due a.btn"),
        ("client-closing-documents", "/finances/closing/"),
        ("client-closing-document", "first:/finances/closing/:main td a"),
        ("client-order-pending", "first:/orders/:main a[href^='/orders/']"),
        ("client-cart", "/cart/"),
        ("client-support", "/support/"), ("client-support-new", "/support/new/"),
        ("client-support-archive", "/support/archive/"),
        ("client-expenses", "/finances/expenses/"),
        ("client-promised-payment", "/finances/promised-payment/"),
        ("client-payment-methods", "/payments/methods/"),
        ("client-two-factor", "/auth/2fa/"), ("client-sessions", "/auth/sessions/"),
    ]),
    ("colleague@example.com", [("colleague-users-no-access", "/account/users/")]),
    ("admin@example.com", [
        ("staff-index", "/staff/"), ("staff-clients", "/staff/accounts/client/"),
        ("staff-client", "client-change:client@example.com"),
        ("staff-action-log", "/staff/accounts/actionlog/"),
        ("staff-plan", "plan:VPS Start"),
        ("staff-service", "staff-service:web-1.dana.example"),
        ("staff-operations", "/staff/services/serviceoperation/"),
        ("staff-payments", "/staff/payments/payment/"),
        ("staff-ledger", "/staff/billing/ledgeraccount/?kind__exact=client"),
        ("staff-invoices", "/staff/billing/invoice/"),
        ("staff-billing-days", "/staff/engine/billingday/"),
        ("staff-service-daily", "staff-service:test-box.dana.example"),
        ("staff-impersonating", "enter:client@example.com"),
        ("staff-apps", "/staff/apps/"),
        ("staff-client-page", "client-page:client@example.com"),
        ("staff-current-activity", "/staff/activity/"),
    ]),
    ("support@example.com", [("support-index", "/staff/"),
                             ("support-client-page", "client-page:client@example.com"),
                             ("support-email-to-decide", "/staff/support/inboundemail/"),
                             ("support-email-spam", "/staff/support/inboundemail/?view=spam"),
                             ("support-spam-rules", "/staff/support/spamrule/"),
                             ("support-tickets-sla", "/staff/support/ticket/?queue=all"),
                             ("support-quality-report", "/staff/support/slapolicy/report/")]),
]


def _sign_in(page, base: str, email: str) -> None:
    staff = email.split("@")[0] in {"admin", "support", "accounting"}
    page.goto(base + "/auth/login/" + ("?next=/staff/" if staff else ""))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit]")
    if staff:
        # The demo staff's second factor.
        page.wait_for_url("**/auth/2fa/authenticate/**")
        code = _demo_code(email)
        while code == _USED_CODES.get(email):
            # A code signs in once (replays are refused): the next width waits for the
            # next 30-second code.
            time.sleep(1)
            code = _demo_code(email)
        _USED_CODES[email] = code
        page.fill("input[name=code]", code)
        page.click("form.form button[type=submit]")


_USED_CODES: dict[str, str] = {}


def _demo_code(email: str) -> str:
    """The code `demo_totp` prints (manage.py of this checkout, the same database as the
    running platform)."""
    return subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parents[1] / "manage.py"), "demo_totp",
         email], capture_output=True, text=True, check=True).stdout.strip()


def _client_change_url(page, base: str, email: str) -> str:
    page.goto(f"{base}/staff/accounts/client/?q={email}")
    href = page.locator("#result_list tbody a").first.get_attribute("href")
    return base + href


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="var/screenshots")
    parser.add_argument("--only", default="", help="regex of page names to take")
    parser.add_argument("--widths", default="1280,390", help="viewport widths, comma-separated")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        for (login, pages), width in [(entry, int(w)) for entry in PAGES
                                      for w in options.widths.split(",")]:
            context = browser.new_context(viewport={"width": width, "height": 860})
            page = context.new_page()
            if login:
                _sign_in(page, options.base, login)
            for name, path in pages:
                if options.only and not re.search(options.only, name):
                    continue
                if path.startswith("first:"):  # a list, then its first link matching
                    _list, selector = path.split(":", 2)[1:]
                    page.goto(options.base + _list)
                    page.click(f"{selector} >> nth=0")
                    page.wait_for_load_state()
                elif path.startswith("service:"):
                    page.goto(options.base + "/services/")
                    page.click(f"table >> text={path.split(':', 1)[1]}")
                    page.wait_for_load_state()
                elif path.startswith("plan:"):
                    page.goto(options.base + "/staff/services/tariffplan/?q="
                              + path.split(":", 1)[1])
                    page.click("#result_list tbody a >> nth=0")
                elif path.startswith("staff-service:"):
                    page.goto(options.base + "/staff/services/service/?q="
                              + path.split(":", 1)[1])
                    page.click("#result_list tbody a >> nth=0")
                elif path.startswith("client-change:"):
                    page.goto(_client_change_url(page, options.base, path.split(":", 1)[1]))
                elif path.startswith("client-page:"):
                    page.goto(_client_change_url(page, options.base, path.split(":", 1)[1])
                              .replace("/change/", "/overview/"))
                elif path.startswith("enter:"):
                    page.goto(_client_change_url(page, options.base, path.split(":", 1)[1]))
                    page.click("text=Enter as client")
                    page.wait_for_load_state()
                    if "/auth/reauthenticate/" in page.url:  # entering needs the password again
                        page.fill("input[name=password]", PASSWORD)
                        page.locator("form button[type=submit]").last.click()
                        page.wait_for_load_state()
                else:
                    page.goto(options.base + path)
                page.wait_for_load_state("networkidle")  # htmx parts loaded
                suffix = "" if width == 1280 else f"-{width}"
                page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=True)
                print(out / f"{name}{suffix}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
