"""The settings module: production defaults are safe, the embedded defaults just work."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"DATABASE_URL", "DEBUG", "HTTPS", "SECRET_KEY",
                                "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    environment.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production_shape():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY="x" * 20 + "a-real-secret-of-fifty-characters-or-more-1234567",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        ALLOWED_HOSTS="billing.example.com",
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_secret_key_is_required_with_a_database_url():
    result = _manage("check", DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")

    assert result.returncode != 0
    assert "must be set when DATABASE_URL is set" in result.stderr
