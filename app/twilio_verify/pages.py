"""Twilio's lists: the query parameters of ``GET /Services`` and ``/Attempts``, and the
``meta`` envelope of a page (``page``, ``page_size``, ``first_page_url``,
``previous_page_url``, ``url``, ``next_page_url``, ``key``) whose ``next_page_url`` a
Twilio SDK follows as it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

import msgspec

from app.phone import calling_code_of, calling_code_regions
from app.twilio_verify.errors import invalid_parameter
from app.twilio_verify.forms import CHANNELS, read_form

__all__ = [
    "AttemptsQuery", "Meta", "PageQuery", "SummaryQuery", "channel_filter", "meta", "read_query",
]  # fmt: skip

MAX_PAGE_SIZE = 1000
_PAGE = {"page_size": "PageSize", "page": "Page", "page_token": "PageToken"}
_FILTERS = {
    "date_created_after": "DateCreatedAfter", "date_created_before": "DateCreatedBefore",
    "country": "Country", "channel": "Channel", "verify_service_sid": "VerifyServiceSid",
}  # fmt: skip


class PageQuery(msgspec.Struct, frozen=True, rename=_PAGE):
    """Which page: ``PageToken`` (what ``next_page_url`` carries) or ``Page``."""

    page_size: int = 50
    page: int = 0
    page_token: str | None = None

    def offset(self) -> int:
        """The first item of the page (``PageToken`` is ``PT<offset>``)."""
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise invalid_parameter("PageSize", f"1 to {MAX_PAGE_SIZE}")
        if self.page < 0:
            raise invalid_parameter("Page")
        if self.page_token is None:
            return self.page * self.page_size
        digits = self.page_token.removeprefix("PT")
        if not digits.isdigit():
            raise invalid_parameter("PageToken")
        return int(digits)


class AttemptsQuery(
    PageQuery,
    frozen=True,
    rename={
        **_PAGE,
        **_FILTERS,
        "to": "ChannelData.To",
        "verification_sid": "VerificationSid",
        "status": "Status",
    },
):
    """``GET /Attempts``'s filters."""

    date_created_after: datetime | None = None
    date_created_before: datetime | None = None
    to: str | None = None
    country: str | None = None
    channel: str | None = None
    verify_service_sid: str | None = None
    verification_sid: str | None = None
    status: str | None = None

    def conversion(self) -> Literal["converted", "unconverted"] | None:
        if self.status is None:
            return None
        status = self.status.lower()
        if status not in ("converted", "unconverted"):
            raise invalid_parameter("Status", "converted or unconverted")
        return "converted" if status == "converted" else "unconverted"


def channel_filter(value: str | None) -> str | None:
    """otpgate's channel for a ``Channel`` filter (``sms``, ``call``, ``whatsapp``,
    ``email``, in any case), None for none; anything else is 60200."""
    if value is None:
        return None
    channel = CHANNELS.get(value.strip().lower())
    if channel is None:
        raise invalid_parameter("Channel", "sms, call, whatsapp or email")
    return channel


class SummaryQuery(msgspec.Struct, frozen=True, rename={**_FILTERS, "prefix": "DestinationPrefix"}):
    """``GET /Attempts/Summary``'s filters."""

    date_created_after: datetime | None = None
    date_created_before: datetime | None = None
    country: str | None = None
    channel: str | None = None
    verify_service_sid: str | None = None
    prefix: str | None = None

    def regions(self) -> frozenset[str] | None:
        """The countries to count (None: every one): ``Country``'s, among those of the
        calling code ``DestinationPrefix`` names (``+86``, ``+1``). otpgate counts by
        country, so a prefix is a calling code or 60200; a ``+`` a query string did not
        encode arrives as a space, and is taken for one."""
        wanted = None if self.country is None else frozenset({self.country.upper()})
        if self.prefix is None:
            return wanted
        digits = self.prefix.strip().removeprefix("+")
        code = calling_code_of(digits) if digits.isascii() and digits.isdigit() else None
        if code is None or digits != str(code):
            named = "a country calling code with its +, such as +86 or +1"
            raise invalid_parameter(
                "DestinationPrefix",
                "otpgate counts attempts by country, so it filters by calling code: "
                + (named if code is None else f"+{code}, not +{digits}"),
            )
        regions = frozenset(calling_code_regions(code))
        return regions if wanted is None else regions & wanted


class Meta(msgspec.Struct, frozen=True):
    """A page's envelope."""

    page: int
    page_size: int
    first_page_url: str
    previous_page_url: str | None
    url: str
    next_page_url: str | None
    key: str


def read_query(query: dict[str, Any], kind: type[PageQuery] | type[SummaryQuery]) -> Any:
    """The query string as ``kind`` (60200 naming a bad parameter)."""
    return read_form(query, kind)


def meta(url: str, key: str, query: PageQuery, filters: dict[str, str], total: int) -> Meta:
    """The envelope of the page ``query`` asks for, of ``total`` items; ``filters`` are
    carried into every URL."""
    size, offset = query.page_size, query.offset()
    page = offset // size

    def at(number: int, start: int) -> str:
        parameters = {**filters, "PageSize": size, "Page": number}
        if start:
            parameters["PageToken"] = f"PT{start}"
        return f"{url}?{urlencode(parameters)}"

    return Meta(
        page=page, page_size=size, first_page_url=at(0, 0),
        previous_page_url=at(page - 1, max(0, offset - size)) if offset else None,
        url=at(page, offset),
        next_page_url=at(page + 1, offset + size) if offset + size < total else None,
        key=key,
    )  # fmt: skip
