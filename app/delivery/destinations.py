"""Where an app's events may be delivered, checked once and connected to as checked.

A host name is resolved once; every address it resolves to must be allowed (by default
public: no loopback, private, link-local, multicast or reserved range), and the request
then goes to the first of those addresses, with the name kept for the ``Host`` header
and for TLS (SNI and the certificate check). Resolving again at connect time, as a plain
``httpx`` call would, lets a name that rebinds between the two reach an address the
check refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import msgspec

__all__ = ["Address", "Destination", "Resolver", "check_destination", "is_public", "resolve"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``: the system's resolver, or one a test controls.
Resolver = Callable[[str, int], list[str]]


class Destination(msgspec.Struct, frozen=True):
    """A checked URL: ``url`` names the address to connect to, ``host`` the server."""

    url: str
    #: the ``Host`` header: the URL's own host (and port, if it has one)
    host: str
    #: the name TLS must see (SNI, certificate); None for http
    server_name: str | None


def resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: Address) -> bool:
    return address.is_global and not address.is_multicast


def check_destination(
    url: str,
    *,
    allow_private: bool,
    allow_http: bool,
    resolver: Resolver = resolve,
    allowed: Callable[[Address], bool] = is_public,
) -> Destination:
    """The destination to connect to for ``url``; raises ValueError saying why not.

    https only (http when ``allow_http``); every address of the host must be ``allowed``
    unless ``allow_private``. Blocking (it may resolve): run it off the event loop.
    """
    parts = urlsplit(url)
    if parts.scheme not in ({"https", "http"} if allow_http else {"https"}):
        raise ValueError(f"events_url must be https, not {parts.scheme or 'missing'}")
    hostname = parts.hostname
    if not hostname:
        raise ValueError("events_url has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(hostname)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(found) for found in resolver(hostname, port)]
        except OSError as exc:
            raise ValueError(f"cannot resolve {hostname}: {exc}") from None
    if not addresses:
        raise ValueError(f"{hostname} resolves to no address")
    if not allow_private:
        for address in addresses:
            if not allowed(address):
                raise ValueError(f"{hostname} resolves to a non-public address ({address})")
    pinned = addresses[0]
    literal = f"[{pinned}]" if pinned.version == 6 else str(pinned)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return Destination(
        url=urlunsplit(parts._replace(netloc=netloc)),
        host=parts.netloc.rpartition("@")[2],
        server_name=hostname if parts.scheme == "https" else None,
    )
