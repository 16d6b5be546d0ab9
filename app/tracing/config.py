"""Settings of traces (settings compose them): where the spans go, under which service
name, and which share of new traces is kept. No endpoint, no tracing: the default."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from app.sensitive import Secret

__all__ = ["TracingSettings"]

#: An HTTP header name (RFC 9110's token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class TracingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """OpenTelemetry traces, exported over OTLP/HTTP (protobuf) to a collector."""

    #: The collector's traces URL (``http://collector:4318/v1/traces``); unset or empty:
    #: no tracing at all (no SDK, no export thread).
    endpoint: str | None = None
    #: ``service.name`` of the spans.
    service_name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "otpgate"
    #: The share of new traces kept (0 to 1); a request that brings a ``traceparent``
    #: follows the caller's decision instead.
    sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    #: Headers of each export request (a tracing vendor's API key); ``"${NAME}"`` values
    #: are read from the environment.
    headers: dict[str, Secret] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError(
                    f"tracing.endpoint: an http:// or https:// URL is needed, not {parts.scheme!r}"
                )
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name) or "\r" in value or "\n" in value:
                raise ValueError(f"tracing.headers: {name!r} is not a valid header")

    @property
    def enabled(self) -> bool:
        """Whether spans are made and exported at all."""
        return bool(self.endpoint)
