"""`make run`: the whole platform on the embedded defaults, in one terminal.

Migrates, seeds the demo data, prints the address and the demo logins, then runs the
web server, a Celery worker and Celery beat together (honcho, from the Procfile).
Ctrl-C stops all of them, and the embedded PostgreSQL with them; data stays in var/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    port = os.environ.setdefault("PORT", "8000")
    venv_bin = str(Path(sys.executable).parent)
    os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")

    if not _port_is_free(int(port)):
        print(f"Port {port} is in use (another `make run`?). Stop it, or choose another port: "
              f"make run PORT={int(port) + 1}", file=sys.stderr)
        return 1

    import django

    django.setup()
    # Read only now: they need the settings set up above.
    from django.conf import settings
    from django.core.management import call_command

    if settings.EMBEDDED_DATABASE:
        from config.embedded import postgres

        # Held for the whole run, so the server does not stop and start between steps.
        postgres.attach()
    call_command("migrate", interactive=False, verbosity=0)
    print("Database is migrated.")
    call_command("seed_demo")
    print(f"\n  Client area:  http://127.0.0.1:{port}/")
    print(f"  Staff panel:  http://127.0.0.1:{port}/staff/")
    print("  Staff sign in with a second factor; the demo staff's current code:\n"
          "                make manage ARGS=\"demo_totp admin@example.com\"")
    print("  Press Ctrl-C to stop everything.\n", flush=True)
    honcho = subprocess.Popen(
        [os.path.join(venv_bin, "honcho"), "start", "-f", str(BASE_DIR / "Procfile"),
         "--port", port],
        cwd=BASE_DIR,
    )
    # A plain SIGTERM (a supervisor, `timeout`) stops everything as Ctrl-C does; and
    # Ctrl-C is heard even when a shell started us with SIGINT ignored (a background job).
    signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGTERM))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return honcho.wait()
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches honcho too; a SIGINT sent to this process alone
        # does not, so pass it on either way and wait for everything to stop.
        honcho.send_signal(signal.SIGTERM)
        return honcho.wait()


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


if __name__ == "__main__":
    sys.exit(main())
