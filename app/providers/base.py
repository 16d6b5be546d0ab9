"""What a provider is given and what it answers: the message to send, the result, the
kinds of error, a balance, and the helpers every vendor's answer parser shares.

How a vendor is put together from these is :mod:`app.providers.adapter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Protocol, TypeVar

import msgspec

from app.channels import Channel
from app.providers.config import RegisteredTemplate

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import httpx

    from app.providers.config import Template

__all__ = [
    "Balance",
    "ErrorKind",
    "OutgoingMessage",
    "Provider",
    "SendResult",
    "classify_code",
    "decode_answer",
    "http_failure",
    "status_kind",
    "template_values",
    "unparseable",
]

T = TypeVar("T")

#: retryable: try the next provider; permanent: the number or content is refused;
#: account: our account at the provider (balance, credentials) is the problem.
ErrorKind = Literal["retryable", "permanent", "account"]


class OutgoingMessage(msgspec.Struct, frozen=True):
    """One message to send: the rendered text, and the parts template providers need.

    ``channel`` says what it is: an SMS (``text``), a call (``text`` is what is said, the
    code spelled digit by digit), a WhatsApp template message (``code`` fills it), an
    email (``subject`` and ``text``; ``to`` is the address).
    """

    message_id: str
    to: str  # E.164, or the email address
    region: str
    locale: str
    text: str
    code: str
    minutes: int
    #: The app's run-time templates for this purpose and locale, by provider name: what
    #: those providers send instead of their accounts' templates.
    registered: dict[str, RegisteredTemplate] = msgspec.field(default_factory=dict)
    channel: Channel = "sms"
    subject: str = ""


class SendResult(msgspec.Struct, frozen=True):
    """What a provider answered: accepted with its message id, or an error."""

    accepted: bool
    provider_message_id: str | None = None
    error_kind: ErrorKind | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def ok(cls, provider_message_id: str | None) -> SendResult:
        return cls(accepted=True, provider_message_id=provider_message_id)

    @classmethod
    def failed(cls, kind: ErrorKind, code: str, message: str = "") -> SendResult:
        return cls(accepted=False, error_kind=kind, error_code=code, error_message=message)


class Balance(msgspec.Struct, frozen=True):
    """What is left on a provider account: money, or (Chuanglan domestic) messages."""

    amount: Annotated[float, msgspec.Meta(description="What is left.")]
    currency: Annotated[
        str | None, msgspec.Meta(description="ISO 4217 code (null: a count of messages).")
    ]


def classify_code(
    code: str,
    exact: Mapping[str, ErrorKind],
    prefixes: Sequence[tuple[str, ErrorKind]] = (),
    default: ErrorKind = "retryable",
) -> ErrorKind:
    """The kind of a provider error code: by exact code, then by prefix, else ``default``.

    The default is retryable: for a code nobody listed, one wasted attempt at the next
    provider costs less than a user who never gets a code.
    """
    if code in exact:
        return exact[code]
    for prefix, kind in prefixes:
        if code.startswith(prefix):
            return kind
    return default


def decode_answer(response: httpx.Response, answer: type[T]) -> T | None:
    """The body as the JSON ``answer`` struct, or None when it is not that JSON."""
    try:
        return msgspec.json.decode(response.content, type=answer)
    except msgspec.DecodeError:  # a ValidationError too
        return None


def status_kind(status: int) -> ErrorKind:
    """The kind of an HTTP failure that says no more: a refused login (401, 403) is our
    account's problem; anything else may well pass at the next provider."""
    return "account" if status in (401, 403) else "retryable"


def http_failure(response: httpx.Response) -> SendResult:
    """A failure known by its HTTP status only, with the start of the body for the log."""
    status = response.status_code
    return SendResult.failed(status_kind(status), f"http_{status}", response.text[:200])


def unparseable(response: httpx.Response) -> SendResult:
    """An answer that should say "accepted" and cannot be read: retryable (another
    provider may send), with the start of the body for the log."""
    return SendResult.failed("retryable", "unparseable", response.text[:200])


class Provider(Protocol):
    """A provider account. Adapters translate; they never retry (the router does)."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


def template_values(template: Template, message: OutgoingMessage) -> list[str]:
    """The values of the template's variables, in its order."""
    return [message.code if param == "code" else str(message.minutes) for param in template.params]
