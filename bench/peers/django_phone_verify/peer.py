"""django-phone-verify as a benchmark peer: its own venv, a fresh SQLite DB per start.

    ensure_venv()          # .venv with requirements.txt installed (once; then instant)
    peer = start(port)     # migrate a fresh DB, start Redis and the server, wait for it
    ...                    # POST /api/phone/register, /api/phone/verify on peer.base_url
    stop(peer)             # stop the server and Redis, remove the DB

Runs from otpgate's .venv (it borrows ``app.store.embedded`` for the outbox's
redis-server); the peer itself runs on the interpreter of its own .venv. Only 127.0.0.1.

    python bench/peers/django_phone_verify/peer.py serve --port 8001   # by hand
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.store.embedded import EmbeddedRedis

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements.txt"
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
#: Where the recording backend pushes each message (see peerproject/backend.py).
OUTBOX_PREFIX = "peer:outbox:"

#: How the peer can be served (``{threads}`` is unused by gunicorn-sync and uvicorn). The
#: default, Granian's WSGI server with a worker per core, was the fastest of these on this
#: project's 2-core machine; README.md beside this file has the figures.
SERVERS = {
    "granian": [
        "-m", "granian", "peerproject.wsgi:application", "--interface", "wsgi",
        "--workers", "{workers}", "--blocking-threads", "{threads}",
        "--host", "{host}", "--port", "{port}", "--http", "1", "--no-ws",
        "--log-level", "warning",
    ],
    "gunicorn-gthread": [
        "-m", "gunicorn", "peerproject.wsgi:application",
        "--worker-class", "gthread", "--workers", "{workers}", "--threads", "{threads}",
        "--bind", "{host}:{port}", "--keep-alive", "75", "--backlog", "2048",
        "--log-level", "warning",
    ],
    "gunicorn-sync": [
        "-m", "gunicorn", "peerproject.wsgi:application",
        "--worker-class", "sync", "--workers", "{workers}",
        "--bind", "{host}:{port}", "--backlog", "2048", "--log-level", "warning",
    ],
    "uvicorn": [
        "-m", "uvicorn", "peerproject.asgi:application", "--workers", "{workers}",
        "--host", "{host}", "--port", "{port}", "--http", "h11", "--no-access-log",
        "--log-level", "warning", "--lifespan", "off",
    ],
}  # fmt: skip
DEFAULT_SERVER = "granian"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


def python() -> Path:
    return VENV / "bin" / "python"


def _stamp() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    return VENV / f".installed-{digest}"


def ensure_venv() -> Path:
    """The peer's interpreter, after creating .venv and installing requirements.txt once.

    A stamp named after the requirements' hash marks a finished install, so a second
    call costs a stat; a changed requirements.txt reinstalls into the same venv.
    """
    stamp = _stamp()
    if stamp.exists() and python().exists():
        return python()
    if not python().exists():
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)],
        check=True,
    )  # fmt: skip
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python()


@dataclass
class PeerServer:
    """A running peer: its server process (a process group), its DB and its outbox."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    redis: EmbeddedRedis
    port: int
    server: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def redis_pid(self) -> int:
        """The outbox's redis-server (a child of ours, in a session of its own)."""
        process = self.redis._process  # EmbeddedRedis keeps its Popen; we only read the pid
        assert process is not None
        return process.pid

    @property
    def outbox_url(self) -> str:
        return self.redis.url

    @property
    def db(self) -> Path:
        return self.data_dir / "peer.sqlite3"

    def log_tail(self, lines: int = 20) -> str:
        text = (self.data_dir / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def verified(self) -> int:
        """Rows that the peer marked verified: what its verify endpoint really did."""
        with contextlib.closing(sqlite3.connect(self.db, timeout=20)) as db:
            row = db.execute("SELECT COUNT(*) FROM sms_verification WHERE is_verified").fetchone()
            return int(row[0])


def _env(data_dir: Path, outbox_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PEER_")}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        DJANGO_SETTINGS_MODULE="peerproject.settings",
        PYTHONPATH=str(HERE),
        PYTHONDONTWRITEBYTECODE="1",
        PEER_DB=str(data_dir / "peer.sqlite3"),
        PEER_OUTBOX_URL=outbox_url,
        PEER_SECRET_KEY=secrets.token_urlsafe(48),
    )
    return env


def start(
    port: int,
    *,
    server: str = DEFAULT_SERVER,
    workers: int = DEFAULT_WORKERS,
    threads: int = DEFAULT_THREADS,
) -> PeerServer:
    """Migrate a fresh DB in a temporary dir, start the outbox Redis and the server.

    Returns once ``GET /healthz`` answers 200; raises RuntimeError (with the log's tail)
    if the server exits or does not answer within READY_TIMEOUT.
    """
    sys.path.insert(0, str(REPO_ROOT))
    from app.store.embedded import EmbeddedRedis

    interpreter = ensure_venv()
    data_dir = Path(tempfile.mkdtemp(prefix="peer-django-phone-verify-"))
    # Bookkeeping only, like otpgate's dev outbox: no AOF, so the peer pays no fsync for it.
    redis_server = EmbeddedRedis(data_dir / "redis", persistent=False).start()
    try:
        env = _env(data_dir, redis_server.url)
        with (data_dir / "server.log").open("wb") as log:
            migrate = subprocess.run(
                [str(interpreter), "-m", "django", "migrate", "--no-input", "-v", "0"],
                cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
            if migrate.returncode:
                log.flush()
                text = (data_dir / "server.log").read_text(errors="replace")
                raise RuntimeError(f"migrate exited with status {migrate.returncode}:\n{text}")
            args = [
                part.format(host=HOST, port=port, workers=workers, threads=threads)
                for part in SERVERS[server]
            ]
            process = subprocess.Popen(
                [str(interpreter), *args],
                cwd=HERE,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
    except BaseException:
        redis_server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    peer = PeerServer(process, data_dir, redis_server, port, server)
    try:
        _wait_ready(peer)
    except BaseException:
        stop(peer)
        raise
    return peer


def _wait_ready(peer: PeerServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if peer.process.poll() is not None:
            raise RuntimeError(
                f"the peer exited with status {peer.process.returncode}:\n{peer.log_tail()}"
            )
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{peer.base_url}/healthz", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the peer did not answer within {READY_TIMEOUT:.0f} s:\n{peer.log_tail()}")


def stop(peer: PeerServer, *, keep: bool = False) -> None:
    """SIGTERM the server's process group, SIGKILL it after STOP_TIMEOUT; stop Redis;
    remove the data dir unless ``keep``."""
    process = peer.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    peer.redis.stop()
    if not keep:
        shutil.rmtree(peer.data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="create .venv and install requirements.txt")
    serve = commands.add_parser("serve", help="run the peer until Ctrl-C")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--server", choices=sorted(SERVERS), default=DEFAULT_SERVER)
    serve.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = parser.parse_args(argv)
    if args.command == "ensure":
        print(ensure_venv())
        return 0
    # SIGTERM (e.g. from `timeout`) stops the server and Redis as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    peer = start(args.port, server=args.server, workers=args.workers, threads=args.threads)
    print(f"django-phone-verify on {peer.base_url} (outbox {peer.outbox_url}); Ctrl-C stops")
    try:
        peer.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
