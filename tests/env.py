"""Test environment, loaded by pytest (``-p tests.env``) before Django reads its settings.

Tests run on whatever the environment names (``DATABASE_URL`` etc.), else on the
embedded defaults. They never share a broker folder with a running ``make run``.
"""

import os
import tempfile
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HTTPS", "0")
if not os.environ.get("CELERY_BROKER_URL"):
    os.environ.setdefault("CELERY_FS_BROKER_DIR", tempfile.mkdtemp(prefix="openbill-broker-"))
# A queue of this run's own: a shared Redis may hold another run's leftovers.
os.environ.setdefault("CELERY_QUEUE", f"test-{uuid.uuid4().hex[:12]}")
# Playwright's sync API runs an event loop in the test's thread; the ORM calls of the
# test itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
