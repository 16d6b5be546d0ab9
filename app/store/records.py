"""How a verification is laid out in its Redis hash, and back.

Field names are one or two characters and every value stays under 64 bytes, so Redis
keeps the hash in its compact listpack encoding (a stored verification takes about half
a kilobyte instead of two). The scripts in ``lua/`` write the same names:

==========  ===================================  ==========  =========================
field       meaning                              field       meaning (per send ``n``)
==========  ===================================  ==========  =========================
``id``      the verification id                  ``c<n>``    the code's hash
``a``       app                                  ``e<n>``    the code's expiry, ms
``u``       purpose                              ``i<n>``    the message id
``t``       the number, masked                   ``o<n>``    sent at, ms
``C``       its country                          ``q<n>``    the message's status
``h``/``l`` channel (newest) / locale            ``p<n>``    the provider (``-``: none)
``k``       the lookup (the index's name)        ``y<n>``    the provider's message id
``s``       status                               ``w<n>``    attempts (JSON)
``T``       created, ms                          ``z<n>``    error code
``x``/``X`` attempts used / allowed              ``g<n>``    error kind
``N``/``S`` sends made / allowed                 ``R<n>``    reports received
``L``/``E`` last send / newest code's expiry     ``r<n>.<k>``  report ``k`` (JSON)
``D``/``P`` cooldown ms / resend policy          ``h<n>``    its channel, if not sms
``A``       argon2 cost ("t,m,p")                ``b<n>``    why a fallback step sent it
``F``/``H`` its own app name / Android app
            hash (only when the send set them)
==========  ===================================  ==========  =========================
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["StoredVerification", "decode", "decode_message", "encode_attempts"]


class StoredVerification(msgspec.Struct, frozen=True):
    """A verification as read from Redis (the number only masked)."""

    id: str
    app: str
    purpose: str
    masked_to: str
    channel: str
    region: str
    lookup: str
    status: str
    created_ms: int
    expires_ms: int
    last_send_ms: int
    cooldown_ms: int
    attempts: int
    max_attempts: int
    sends: int
    max_sends: int
    messages: list[dict[str, Any]]
    locale: str = "en"


def encode_attempts(attempts: list[dict[str, Any]]) -> str:
    """Attempts as compact JSON lists: ``[provider, outcome, error code, latency ms]``."""
    rows = [[a["provider"], a["outcome"], a.get("error_code"), a.get("latency_ms", 0.0)]
            for a in attempts]  # fmt: skip
    return msgspec.json.encode(rows).decode()


def _attempts(raw: str | None) -> list[dict[str, Any]]:
    rows = msgspec.json.decode(raw) if raw else []
    keys = ("provider", "outcome", "error_code", "latency_ms")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _timeline(fields: dict[str, str], n: int) -> list[dict[str, Any]]:
    keys = ("status", "provider_status", "received_at", "occurred_at", "error_code")
    count = int(fields.get(f"R{n}") or 0)
    return [
        dict(zip(keys, msgspec.json.decode(fields[f"r{n}.{k}"]), strict=True))
        for k in range(1, count + 1)
        if f"r{n}.{k}" in fields
    ]


def decode_message(fields: dict[str, str], n: int) -> dict[str, Any] | None:
    """Message ``n`` of a record, as the views read it (None: no such message)."""
    if f"i{n}" not in fields:
        return None
    provider = fields.get(f"p{n}")
    return {
        "id": fields[f"i{n}"],
        "channel": fields.get(f"h{n}", "sms"),
        "provider": None if provider in (None, "-") else provider,
        "status": fields.get(f"q{n}", "queued"),
        "provider_message_id": fields.get(f"y{n}"),
        "error_code": fields.get(f"z{n}"),
        "error_kind": fields.get(f"g{n}"),
        "created_at": int(fields[f"o{n}"]) if f"o{n}" in fields else None,
        "attempts": _attempts(fields.get(f"w{n}")),
        "timeline": _timeline(fields, n),
        "fallback": fields.get(f"b{n}"),
    }


def decode(fields: dict[str, str]) -> StoredVerification:
    """A record's hash (every field, as HGETALL gives it)."""
    sends = int(fields["N"])
    messages = [m for n in range(1, sends + 1) if (m := decode_message(fields, n)) is not None]
    return StoredVerification(
        id=fields["id"],
        app=fields["a"],
        purpose=fields["u"],
        masked_to=fields["t"],
        channel=fields.get("h", "sms"),
        region=fields.get("C", ""),
        lookup=fields["k"],
        status=fields["s"],
        created_ms=int(fields["T"]),
        expires_ms=int(fields["E"]),
        last_send_ms=int(fields["L"]),
        cooldown_ms=int(fields["D"]),
        attempts=int(fields["x"]),
        max_attempts=int(fields["X"]),
        sends=sends,
        max_sends=int(fields["S"]),
        messages=messages,
        locale=fields.get("l", "en"),
    )
