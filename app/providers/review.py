"""Template review at the providers that have a template API, whoever the vendor.

Alibaba and Tencent send a verification code only through a template registered with
them and approved by their reviewers. A vendor package that can register one exports a
:class:`ReviewApi`: how an otpgate text (``{code}``, ``{minutes}``, ``{app_name}``) reads
in the vendor's syntax, the vendor's documented rules for it, and the pure builders and
parsers of its submit and query calls. :class:`ReviewClient` joins one to an account and
the shared HTTP client, as :class:`~app.providers.base.HttpProvider` does for sends.
Which adapters have one is their ``Adapter.review`` (:mod:`app.providers.registry`).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import httpx
import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "VARIABLES",
    "Review",
    "ReviewAnswer",
    "ReviewApi",
    "ReviewClient",
    "ReviewFailure",
    "ReviewState",
    "RuleContext",
    "TemplateDraft",
    "Translation",
    "fill",
    "http_failure",
    "pieces",
    "translate",
]

#: The variables an otpgate text may hold.
VARIABLES = ("code", "minutes", "app_name")
#: What a provider's reviewers said of a template: still looking, yes, or no.
ReviewState = Literal["submitted", "approved", "rejected"]
Param = Literal["code", "minutes"]
C = TypeVar("C")


class TemplateDraft(msgspec.Struct, frozen=True):
    """A verification-code template to register at a provider."""

    #: A name for the provider's console (both vendors allow 30 characters).
    name: str
    #: The text in otpgate's syntax: ``{code}``, ``{minutes}``, ``{app_name}``.
    text: str
    #: What ``{app_name}`` becomes: a registered template belongs to one app.
    app_name: str
    #: Why it is asked for, for the provider's reviewers.
    remark: str
    kind: Literal["verification"] = "verification"


class Translation(msgspec.Struct, frozen=True):
    """A text in a vendor's syntax, and what fills its variables, in the vendor's order."""

    content: str
    params: list[Param]
    #: The variables' names where the vendor names them (Alibaba); None: by position.
    names: list[str] | None = None


class ReviewAnswer(msgspec.Struct, frozen=True):
    """A provider's word on a template: its id there, its state and, if refused, why."""

    state: ReviewState
    template_id: str
    reason: str | None = None


class ReviewFailure(msgspec.Struct, frozen=True):
    """A call the provider refused (or did not answer): its error code and message."""

    code: str
    message: str = ""


Review = ReviewAnswer | ReviewFailure


class RuleContext(msgspec.Struct, frozen=True):
    """What a vendor's rules need to know of the app besides the text."""

    code_length: int
    minutes: int
    app_name: str
    #: The sign name the provider adds to each message (【…】), if any.
    sign_name: str | None = None


def pieces(text: str) -> list[tuple[str, str | None]]:
    """The text as (literal, variable) pairs, ``{{`` and ``}}`` being literal braces.

    Raises:
        ValueError: an unmatched brace, or a variable with a format (``{code:>8}``).
    """
    parsed = []
    for literal, field, spec, conversion in string.Formatter().parse(text):
        if field is not None and (spec or conversion):
            raise ValueError(f"{{{field}}} takes no format or conversion")
        parsed.append((literal, field))
    return parsed


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with each variable replaced by its value in ``values``."""
    return "".join(
        literal + ("" if name is None else values[name]) for literal, name in pieces(text)
    )


def translate(
    text: str, app_name: str, variable: Callable[[str, int], str], *, named: bool
) -> Translation:
    """``text`` in a vendor's syntax: ``{app_name}`` becomes the app's name (literal text),
    ``{code}`` and ``{minutes}`` become ``variable(name, position)`` (positions from 1)."""
    content: list[str] = []
    params: list[Param] = []
    for literal, name in pieces(text):
        content.append(literal)
        if name == "app_name":
            content.append(app_name)
        elif name in ("code", "minutes"):
            params.append(name)  # type: ignore[arg-type]  # narrowed by the test above
            content.append(variable(name, len(params)))
    return Translation("".join(content), params, list(params) if named else None)


def http_failure(response: httpx.Response) -> ReviewFailure:
    """A failure known by its HTTP status only, with the start of the body."""
    return ReviewFailure(f"http_{response.status_code}", response.text[:200])


@dataclass(frozen=True, kw_only=True)
class ReviewApi(Generic[C]):
    """A vendor's template API: translation, rules, and its submit and query calls."""

    #: Where its registered templates may be sent: the regions of the numbers (ISO 3166);
    #: None: anywhere.
    regions: frozenset[str] | None
    #: ``draft -> Translation``: the text in the vendor's syntax.
    translate: Callable[[TemplateDraft], Translation]
    #: ``(text, context) -> problems``: the vendor's documented rules the text breaks.
    rules: Callable[[str, RuleContext], list[str]]
    #: ``(draft, config, now, nonce) -> httpx.Request``: register it.
    build_submit: Callable[[TemplateDraft, C, datetime, str], httpx.Request]
    #: the answer to a submit: ``submitted`` with the new template id, or a failure.
    parse_submit: Callable[[httpx.Response], Review]
    #: ``(template id, config, now, nonce) -> httpx.Request``: ask for its review state.
    build_query: Callable[[str, C, datetime, str], httpx.Request]
    #: ``(response, template id)``: the review state of that template, or a failure.
    parse_query: Callable[[httpx.Response, str], Review]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_nonce() -> str:
    return secrets.token_hex(16)


class ReviewClient(Generic[C]):
    """A vendor's review API for one account over the shared HTTP client.

    It never raises for what the provider answers or for a network failure: both are a
    :class:`ReviewFailure`, which the caller reports without changing anything.
    """

    def __init__(
        self,
        api: ReviewApi[C],
        config: C,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _new_nonce,
    ) -> None:
        self.api = api
        self._config = config
        self._client = client
        self._clock = clock
        self._nonce = nonce

    async def submit(self, draft: TemplateDraft) -> Review:
        request = self.api.build_submit(draft, self._config, self._clock(), self._nonce())
        return await self._call(request, self.api.parse_submit)

    async def query(self, template_id: str) -> Review:
        request = self.api.build_query(template_id, self._config, self._clock(), self._nonce())
        return await self._call(
            request, lambda response: self.api.parse_query(response, template_id)
        )

    async def _call(
        self, request: httpx.Request, parse: Callable[[httpx.Response], Review]
    ) -> Review:
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException:
            return ReviewFailure("timeout", "the provider did not answer in time")
        except httpx.TransportError as exc:
            return ReviewFailure("unreachable", type(exc).__name__)
        return parse(response)
