"""A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`), started as a
throwaway process with a configuration of its own in a temporary folder: a local port,
passwd-file authentication, maildirs in the folder, no systemd. `.ci/run` installs it;
without it the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

USER, PASSWORD = "support", "mailbox-secret"
READY_WITHIN_S = 30  # generous: a loaded CI machine starts it in well under a second

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password answers at once: the tests of a refused login need not wait 2 s.
# (Dovecot still slows later logins from the same address after a failure, by seconds:
# tests that fail a login take a server of their own, see ``dovecot_server``.)
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{root}/mail/%u
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def dovecot_binary() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which("dovecot", path=path)


@dataclass
class Dovecot:
    host: str
    port: int
    root: Path

    def login(self, password: str = PASSWORD) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.port, timeout=30).login(
            USER, password, initial_folder=None)

    def new_folder(self) -> str:
        """A folder of the test's own, so tests share one server and not their mail."""
        name = f"t{uuid.uuid4().hex[:10]}"
        with self.login() as box:
            box.folder.create(name)
        return name

    def append(self, folder: str, *messages: bytes) -> None:
        with self.login() as box:
            for raw in messages:
                box.append(raw, folder)

    def recreate(self, folder: str) -> None:
        """Delete the folder and make it anew: the server gives it a new UIDVALIDITY."""
        with self.login() as box:
            box.folder.delete(folder)
            box.folder.create(folder)

    def flags(self, folder: str) -> dict[int, tuple[str, ...]]:
        with self.login() as box:
            box.folder.set(folder)
            return {int(message.uid): message.flags
                    for message in box.fetch(mark_seen=False, headers_only=True)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _mail_owner() -> tuple[int, int, str]:
    """Who owns the maildirs: ourselves, or, as root (which Dovecot refuses for mail), its
    own unprivileged user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        # Not root, Dovecot cannot switch users: every process of it runs as us.
        users = (f"default_internal_user = {me.pw_name}\n"
                 f"default_login_user = {me.pw_name}")
        return me.pw_uid, me.pw_gid, users
    for name in ("dovecot", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid, ""
    raise RuntimeError("No unprivileged user to own the test maildirs.")


@contextmanager
def dovecot_server() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd; "
                    ".ci/run installs it): the IMAP tests need a real server")
    root = Path(tempfile.mkdtemp(prefix="openbill-dovecot-"))
    root.chmod(0o755)
    uid, gid, users = _mail_owner()
    for folder in ("mail", "home"):
        (root / folder).mkdir()
        os.chown(root / folder, uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = _free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, uid=uid, gid=gid, port=port,
                                                     users=users))
    process = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while not _greets(port):
            try:
                process.wait(timeout=0.05)  # waits on the process: it may have died
            except subprocess.TimeoutExpired:
                pass
            else:
                log = root / "dovecot.log"
                raise RuntimeError("Dovecot stopped: " + process.stdout.read().decode()
                                   + (log.read_text() if log.exists() else ""))
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not answer on port {port} within "
                                   f"{READY_WITHIN_S} s")
        yield Dovecot("127.0.0.1", port, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        shutil.rmtree(root, ignore_errors=True)
