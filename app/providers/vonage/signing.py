"""Vonage's signed requests: ``sig``, a hash (``md5hash``) or an HMAC of the sorted
parameters keyed with the signature secret; signed delivery receipts carry the same
(https://developer.vonage.com/en/getting-started/concepts/signing-messages)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.providers.vonage.config import SignatureMethod

__all__ = ["signature", "string_to_sign"]


def string_to_sign(params: Mapping[str, str]) -> str:
    """``&key=value`` for every parameter but ``sig``, sorted by key.

    ``&`` and ``=`` in values become ``_``, as Vonage does before it compares.
    """
    return "".join(
        f"&{key}={params[key].replace('&', '_').replace('=', '_')}"
        for key in sorted(params)
        if key != "sig"
    )


def signature(params: Mapping[str, str], secret: str, method: SignatureMethod) -> str:
    """The ``sig`` of ``params`` (which include ``timestamp``), as lowercase hex."""
    payload = string_to_sign(params)
    if method == "md5hash":
        # Vonage's md5hash method: plain MD5 of the parameters and the secret.
        return hashlib.md5((payload + secret).encode()).hexdigest()  # noqa: S324
    return hmac.new(secret.encode(), payload.encode(), method).hexdigest()
