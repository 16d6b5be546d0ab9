"""The ``otpgate`` command: serve, keys, apps, openapi, check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import redis

from app import __version__
from app.cli_admin import ADMIN_COMMANDS, add_admin_commands
from app.cores import worker_count
from app.logs import json_line, server_logging
from app.sensitive import mask_url, redacted
from app.settings import ConfigError, Settings, load_settings
from app.store.embedded import EmbeddedRedis

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["main"]

_REDIS_URL_FILE = "redis.url"
_DEV_KEY_FILE = "dev-api-key"


def _exit_on_sigterm() -> None:
    # Until the server installs its own handlers (and after it restores ours), SIGTERM
    # unwinds like Ctrl-C so the embedded Redis is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _dev_api_key(data_dir: Path) -> str:
    """The dev bootstrap key, kept under the data dir so it survives restarts."""
    path = data_dir / _DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = "otpg_dev_" + secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


@contextlib.contextmanager
def _redis_url(settings: Settings, *, persistent: bool = True) -> Iterator[str]:
    """The configured Redis, the embedded one already running, or a new embedded one."""
    if settings.redis_url:
        yield settings.redis_url
        return
    data_dir = Path(settings.data_dir)
    url_file = data_dir / _REDIS_URL_FILE
    if url_file.exists():
        url = url_file.read_text().strip()
        with contextlib.suppress(redis.RedisError), redis.Redis.from_url(url) as client:
            if client.ping():
                yield url
                return
    embedded = EmbeddedRedis(data_dir, persistent=persistent).start()
    try:
        url_file.write_text(embedded.url + "\n")
        yield embedded.url
    finally:
        url_file.unlink(missing_ok=True)
        embedded.stop()


#: Bytes of one request's head (request line and headers) the server reads before it
#: answers 431; hyper, under Granian, also answers 431 past 100 header fields.
HEADER_BUFFER_BYTES = 16 * 1024


def served_app() -> Any:
    """The app of one server worker: it stops when ``otpgate serve`` itself dies.

    Granian runs the app in child processes; if the parent is SIGKILLed they would go on
    serving (and delivering events) unsupervised, so each asks Linux to kill it when its
    parent dies (prctl PR_SET_PDEATHSIG; the standard library has no wrapper). SIGKILL,
    not SIGTERM: a SIGTERM that reaches a Granian worker still in its lifespan startup
    leaves it hung in Granian's signal handler for good (seen with two workers, the
    parent killed as soon as it answered). The parent's death is a crash already, which
    otpgate survives (idempotency keys, events at least once).
    """
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    from app.asgi import create_app

    return create_app()


def _run_server(settings: Settings, *, access_log: bool) -> None:
    """Granian (hyper's HTTP/1 parser) serving ``create_app``.

    Chosen over uvicorn because its parser bounds what a request may send before the
    app sees it: at most 100 header fields and ``HEADER_BUFFER_BYTES`` of head, else 431.
    """
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    Granian(
        "app.cli:served_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=worker_count(settings.workers),
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(max_buffer_size=HEADER_BUFFER_BYTES),
        log_access=access_log,
        log_dictconfig=server_logging(settings.json_logs),
        workers_kill_timeout=10,
    ).serve()


def _serve(args: argparse.Namespace) -> int:
    overrides = {
        name: value
        for name, value in (("host", args.host), ("port", args.port), ("workers", args.workers))
        if value is not None
    }
    settings = load_settings(overrides=overrides)
    _exit_on_sigterm()
    with _redis_url(settings) as url:
        os.environ["OTPGATE_REDIS_URL"] = url
        for name, value in overrides.items():
            os.environ[f"OTPGATE_{name.upper()}"] = str(value)
        if (
            worker_count(settings.workers) > 1
        ):  # every worker writes its metrics here; /metrics sums them
            metrics_dir = Path(settings.data_dir).resolve() / "prometheus"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        base = f"http://{settings.host}:{settings.port}"
        shown_url = mask_url(url)
        banner = (
            f"otpgate {settings.env} on {base}  "
            f"(redis: {shown_url}, workers: {worker_count(settings.workers)})"
        )
        print(json_line("otpgate.cli", banner) if settings.json_logs else banner)
        if settings.env == "dev":
            key = settings.bootstrap_api_key or _dev_api_key(Path(settings.data_dir))
            os.environ["OTPGATE_BOOTSTRAP_API_KEY"] = key
            print(f"  API key:  {key}")
            print(f"  outbox:   {base}/dev/outbox")
            print(f"  dashboard: {base}/dashboard (sign in with the API key)")
            print(f"  API docs: {base}/schema")
        sys.stdout.flush()
        _run_server(settings, access_log=args.access_log)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from app.asgi import openapi_document

    text = openapi_document()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def _check_config(_: argparse.Namespace) -> int:
    settings = load_settings()
    shown = redacted(settings)  # providers too: their config structs say what is secret
    if settings.pepper is None:
        shown["pepper"] = "(dev default)"
    print(json.dumps(shown, indent=2, default=str, ensure_ascii=False))
    print("configuration is valid")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="otpgate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"otpgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = commands.add_parser("serve", help="run the HTTP service (and the embedded Redis)")
    serve.add_argument("--host", help="address to bind (OTPGATE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (OTPGATE_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (OTPGATE_WORKERS)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(handler=_serve)

    add_admin_commands(commands)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", "-o", default="openapi.json")
    openapi.set_defaults(handler=_openapi)

    check = commands.add_parser("check-config", help="validate the settings and show them")
    check.set_defaults(handler=_check_config)
    return parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: scripts read the reason, people `--help`.
        self.exit(2, f"{self.prog}: {message}\n")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ADMIN_COMMANDS:
            settings = load_settings()
            with _redis_url(settings) as url:
                return asyncio.run(ADMIN_COMMANDS[args.command](args, settings, url))
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"otpgate: configuration error: {exc}", file=sys.stderr)
        return 2
    except redis.RedisError as exc:
        print(f"otpgate: Redis did not answer: {type(exc).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
