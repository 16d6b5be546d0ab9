"""Who may call back: the random token in a callback's path, the provider's source
networks (``callback_ips``), and the provider's own signature where it signs.

Delivery reports (:mod:`app.delivery.service`) and inbound messages
(:mod:`app.delivery.inbound`) pass the same gate; their tokens differ (a provider's
reports have one, its inbound messages one per app), its signature check does not.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from app.errors import OtpgateError
from app.providers.adapter import Signed
from app.providers.registry import adapter_for
from app.providers.reports import CallbackError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from app.providers.accounts import ProviderConfig
    from app.providers.adapter import Adapter
    from app.providers.reports import CallbackRequest

__all__ = ["CallbackGate"]

Part = TypeVar("Part", bound=Signed[Any])
T = TypeVar("T")


def _from(client_ip: str | None, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


class CallbackGate:
    """Authenticates providers' callbacks; every instance derives the same tokens."""

    def __init__(
        self,
        *,
        providers: Mapping[str, ProviderConfig],
        pepper: bytes,
        callback_ips: Mapping[str, list[str]],
        public_url: str | None = None,
    ) -> None:
        self.providers = providers
        self._pepper = pepper
        self._public_url = public_url.rstrip("/") if public_url else None
        self._callback_ips = {
            name: [ipaddress.ip_network(net, strict=False) for net in nets]
            for name, nets in callback_ips.items()
        }

    def token(self, *scope: str) -> str:
        """The random-looking path token of a callback URL for ``scope`` (``"callback",
        provider`` or ``"inbound", provider, app``): derived from the pepper, so every
        instance knows it without storing it."""
        mac = hmac.new(self._pepper, "\x00".join(scope).encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def public_url(self, received: str) -> str:
        """The URL as the provider called it: behind a proxy, ``public_url`` + path."""
        if self._public_url is None:
            return received
        scheme_end = received.index("://") + 3
        path_start = received.find("/", scheme_end)
        return self._public_url + (received[path_start:] if path_start != -1 else "/")

    def part(
        self, provider: str, pick: Callable[[Adapter[Any]], Part | None]
    ) -> tuple[ProviderConfig, Part] | None:
        """The account's config and the part of its adapter ``pick`` names, if it has it."""
        config = self.providers.get(provider)
        found = pick(adapter_for(config)) if config is not None else None
        if config is None or found is None:
            return None
        return config, found

    def admit(
        self,
        provider: str,
        token: str,
        expected: str,
        request: CallbackRequest,
        client_ip: str | None,
        pick: Callable[[Adapter[Any]], Part | None],
    ) -> Part:
        """The adapter's part for a callback that passes the gate; else the error."""
        found = self.part(provider, pick)
        if found is None:
            raise OtpgateError("not_found", f"no provider {provider!r} takes this callback here")
        config, part = found
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise OtpgateError("callback_forbidden", "wrong callback token")
        allowed = self._callback_ips.get(provider)
        if allowed and not _from(client_ip, allowed):
            raise OtpgateError(
                "callback_forbidden", f"{client_ip} may not call back for {provider}"
            )
        if not part.authentic(request, config, datetime.now(UTC)):
            raise OtpgateError("invalid_signature", f"the {provider} signature does not match")
        return part

    @staticmethod
    def read(provider: str, parse: Callable[[CallbackRequest], T], request: CallbackRequest) -> T:
        """What ``parse`` makes of an admitted callback; ``invalid_request`` when nothing."""
        try:
            return parse(request)
        except RecursionError:  # untyped JSON decoding of thousands of nested arrays
            raise OtpgateError(
                "invalid_request", f"unreadable {provider} callback: nested too deeply"
            ) from None
        except CallbackError as exc:
            raise OtpgateError(
                "invalid_request", f"unreadable {provider} callback: {exc}"
            ) from None
