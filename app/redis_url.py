"""``OTPGATE_REDIS_URL`` read into where Redis is: one server, a Cluster or a Sentinel set.

The notation is the `limits` library's: ``redis://[:password@]host:port/db``,
``rediss://`` (TLS), ``unix:///path?db=n``, ``redis+cluster://[:password@]h1:p1,h2:p2``
and ``redis+sentinel://[:password@]h1:p1,h2:p2/service_name``, with ``rediss+`` for TLS.
A leaf: the settings check the URL at start, ``app.store.urls`` makes the client.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import unquote, urlsplit

import msgspec

__all__ = ["RedisTarget", "parse_redis_url"]

Kind = Literal["single", "cluster", "sentinel"]


class RedisTarget(msgspec.Struct, frozen=True):
    """Where Redis is, as ``OTPGATE_REDIS_URL`` says."""

    kind: Kind
    url: str  # for "single": the URL redis-py reads itself
    hosts: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = None
    tls: bool = False
    service: str = ""  # Sentinel's service (primary) name


def parse_redis_url(url: str) -> RedisTarget:
    """Read ``url``; a ValueError says what is wrong with it."""
    scheme, _, rest = url.partition("://")
    if scheme in {"redis", "rediss", "unix"} and rest:
        return RedisTarget("single", url)
    kinds: dict[str, tuple[Kind, bool]] = {
        "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True),
        "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
    }  # fmt: skip
    if scheme not in kinds:
        raise ValueError(
            f"unsupported Redis URL scheme {scheme!r}: use redis://, rediss://, unix://, "
            "redis+cluster:// or redis+sentinel:// (rediss+… for TLS)"
        )
    kind, tls = kinds[scheme]
    credentials, _, location = rest.rpartition("@")
    netloc, _, path = location.partition("/")
    hosts = tuple(_host(part) for part in netloc.split(",") if part)
    if not hosts:
        raise ValueError(f"{scheme}:// needs at least one host:port")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    service = unquote(path.strip("/"))
    if kind == "sentinel" and not service:
        raise ValueError("redis+sentinel:// needs the service name: …/service_name")
    return RedisTarget(
        kind, url, hosts, unquote(username) or None, unquote(password) or None, tls, service
    )


def _host(part: str) -> tuple[str, int]:
    try:
        parts = urlsplit(f"//{part}")
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, or out of range
        host = port = None
    if not host or port is None:
        raise ValueError(f"{part!r} is not host:port")
    return host, port
