"""``check --deploy`` is clean with the defaults docker-compose.yml gives the app, and the
answers carry the security headers."""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def compose_defaults() -> dict[str, str]:
    """The app's environment in docker-compose.yml with every ``${VAR:-default}`` at
    its default (what an operator gets who sets nothing)."""
    text = (ROOT / "docker-compose.yml").read_text()
    block = text.split("environment: &app-env", 1)[1].split("\n  volumes:", 1)[0]
    env = {}
    for key, value in re.findall(r"^\s{4}(\w+):\s*(.*)$", block, re.MULTILINE):
        env[key] = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value).strip()
    return env


def test_compose_defaults_to_https_behind_its_proxy():
    env = compose_defaults()

    assert env["HTTPS"] == "1"
    assert env["TRUST_X_FORWARDED_PROTO"] == "1"
    # The web port listens on this machine only: just the local proxy sends it headers.
    assert "${WEB_BIND:-127.0.0.1}:" in (ROOT / "docker-compose.yml").read_text()


def test_check_deploy_is_clean_with_the_compose_defaults(tmp_path):
    key = "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)")
                  for _ in range(64))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    env |= compose_defaults() | {"DEBUG": "0", "SECRET_KEY": key, "HTTPS": "1",
                                 "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("SECRET_KEY_FILE", None)  # the compose volume's file: SECRET_KEY wins anyway
    if env.get("FIELD_ENCRYPTION_KEY_FILE"):
        # The compose volume's key file, made by the container's start: one of our own here.
        key_file = tmp_path / "field_encryption_key"
        key_file.write_text(Fernet.generate_key().decode())
        env["FIELD_ENCRYPTION_KEY_FILE"] = str(key_file)

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/auth/login/", "/no-such-page/", "/staff/login/"])
def test_every_answer_carries_the_security_headers(client, url):
    response = client.get(url, secure=True)

    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src.split() == ["'self'"]
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_cookies_are_http_only_and_same_site():
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == settings.CSRF_COOKIE_SAMESITE == "Lax"


def test_no_template_has_inline_script_or_handlers():
    """The policy forbids them; a browser would silently ignore one."""
    offenders = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        if ".venv" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or \
                re.search(r"\son[a-z]+\s*=", text) or "javascript:" in text or "hx-on" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
