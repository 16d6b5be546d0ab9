"""Who may be sent a code: pure checks of IP, country, number type, safe and test lists."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Protocol

from app.errors import OtpgateError

if TYPE_CHECKING:
    from datetime import datetime

    from app.abuse.config import AbuseRules, TestNumber
    from app.phone import Phone

__all__ = [
    "ListedNumbers",
    "check_client_ip",
    "check_country",
    "check_number_type",
    "client_network",
    "is_safe",
    "number_prefix",
    "parse_client_ip",
    "test_number",
]


class ListedNumbers(Protocol):
    """Safe and test numbers set at run time, by app and number digest (kept in memory by
    every instance, beside the file's lists: a send looks them up without Redis)."""

    def safe(self, app: str, number: str, now: float) -> bool:
        """``number`` (a digest) skips the pumping guards of ``app`` at ``now``."""
        ...

    def test_code(self, app: str, number: str, now: float) -> str | None:
        """The fixed code ``number`` (a digest) gets from ``app`` at ``now``, if any."""
        ...


def parse_client_ip(client_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``client_ip`` as an address; a network, a name or garbage is ``invalid_request``."""
    try:
        return ipaddress.ip_address(client_ip)
    except ValueError:
        raise OtpgateError(
            "invalid_request", f"client_ip {client_ip!r} is not an IP address"
        ) from None


def client_network(client_ip: str, ipv6_prefix: int) -> str:
    """What per-IP limits count: the IPv4 address, or the IPv6 network of ``ipv6_prefix``.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would
    let one client rotate through billions of them.
    """
    address = parse_client_ip(client_ip)
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))


def check_client_ip(rules: AbuseRules, client_ip: str | None) -> None:
    """Refuse a client IP on the deny list, or off a non-empty allow list."""
    if client_ip is None:
        if rules.ip_allow:
            raise OtpgateError(
                "ip_not_allowed", "this app only admits listed client IPs; send `client_ip`"
            )
        return
    address = parse_client_ip(client_ip)
    if any(address in ipaddress.ip_network(net, strict=False) for net in rules.ip_deny):
        raise OtpgateError("ip_not_allowed", f"client IP {client_ip} is denied")
    if rules.ip_allow and not any(
        address in ipaddress.ip_network(net, strict=False) for net in rules.ip_allow
    ):
        raise OtpgateError("ip_not_allowed", f"client IP {client_ip} is not on the allow list")


def check_country(rules: AbuseRules, phone: Phone) -> None:
    if phone.region in rules.denied_countries or (
        rules.allowed_countries and phone.region not in rules.allowed_countries
    ):
        raise OtpgateError(
            "country_not_allowed",
            f"this app does not send codes to {phone.region} numbers",
            country=phone.region,
        )


def check_number_type(rules: AbuseRules, phone: Phone) -> None:
    if phone.number_type not in rules.number_types:
        raise OtpgateError(
            "number_type_not_allowed",
            f"this app does not send codes to {phone.number_type} numbers",
            number_type=phone.number_type,
        )


def number_prefix(e164: str, digits: int) -> str:
    """The number without its last ``digits`` digits: the unit SMS pumping walks through."""
    return e164[:-digits]


def is_safe(rules: AbuseRules, e164: str) -> bool:
    """Exempt from the pumping guards."""
    return e164 in rules.safe_numbers or any(e164.startswith(p) for p in rules.safe_prefixes)


def test_number(rules: AbuseRules, e164: str, now: datetime) -> TestNumber | None:
    """The test-number entry for ``e164`` while it is in force."""
    for entry in rules.test_numbers:
        if entry.number == e164 and now < entry.until:
            return entry
    return None
