"""What one verification's messages say instead of the app's: its own name (what
``{app_name}`` in a text becomes, instead of the app's ``display_name``) and, in its SMS,
its own Android SMS Retriever hash (the line an SMS ends with, instead of the app's
``android_app_hash``): Twilio's ``CustomFriendlyName`` and ``AppHash``.

The verification's record keeps them only when they are set (``F``, ``H``), so that its
resends say the same, and each stays within the 64 bytes a Redis hash keeps in its
compact encoding. Pure functions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec

from app.errors import OtpgateError
from app.phone import CONTROL_CHARACTERS
from app.sms import retriever_bytes
from app.verify.config import RETRIEVER_MAX_BYTES
from app.verify.messages import outgoing_message

if TYPE_CHECKING:
    from app.verify.config import Policy
    from app.verify.messages import Wording
    from app.verify.recipients import Recipient
    from app.verify.texts import MessageTexts

__all__ = [
    "APP_NAME_MAX_BYTES",
    "APP_NAME_MAX_CHARACTERS",
    "UNCUSTOMIZED",
    "Customization",
    "check_fits",
    "customized",
]

#: Twilio's limit on ``CustomFriendlyName``.
APP_NAME_MAX_CHARACTERS = 30
#: UTF-8 bytes: a longer value would turn the record into Redis' far larger hashtable
#: encoding (21 Chinese characters fit).
APP_NAME_MAX_BYTES = 64
#: What Google's SMS Retriever hashes are made of: 11 characters of base64.
_APP_HASH = re.compile(r"[A-Za-z0-9+/]{11}")


class Customization(msgspec.Struct, frozen=True):
    """A send's own name and app hash (None: the app's)."""

    app_name: str | None = None
    android_app_hash: str | None = None

    def problem(self) -> tuple[str, str] | None:
        """The field that is wrong, and why (None: both are right)."""
        name = self.app_name
        if name is not None and not (
            0 < len(name) <= APP_NAME_MAX_CHARACTERS
            and len(name.encode()) <= APP_NAME_MAX_BYTES
            and not CONTROL_CHARACTERS.search(name)
        ):
            return "app_name", (
                f"1 to {APP_NAME_MAX_CHARACTERS} characters and at most {APP_NAME_MAX_BYTES} "
                "bytes of UTF-8, no control characters"
            )
        if self.android_app_hash is not None and not _APP_HASH.fullmatch(self.android_app_hash):
            return "android_app_hash", "11 characters of base64: letters, digits, + and /"
        return None

    def applied(self, policy: Policy, channel: str) -> Policy:
        """``policy`` with this name and hash (see :func:`customized`)."""
        return customized(policy, channel, self.app_name or "", self.android_app_hash or "")

    def stored(self) -> tuple[str, str]:
        """As the send script takes them (``""``: not set)."""
        return self.app_name or "", self.android_app_hash or ""

    def check(self) -> None:
        """Raises: OtpgateError: ``invalid_request`` naming the wrong field."""
        problem = self.problem()
        if problem is not None:
            raise OtpgateError("invalid_request", f"{problem[0]}: {problem[1]}")


#: A send with the app's own name and hash.
UNCUSTOMIZED = Customization()


def customized(policy: Policy, channel: str, app_name: str, app_hash: str) -> Policy:
    """``policy`` for a message on ``channel`` of a verification that has its own name
    and app hash (``""``: it has not); the hash replaces the app's in an SMS only."""
    changes: dict[str, str] = {}
    if app_name:
        changes["app_name"] = app_name
    if app_hash and channel == "sms":
        changes["android_app_hash"] = app_hash
    return msgspec.structs.replace(policy, **changes) if changes else policy


def check_fits(texts: MessageTexts, to: Recipient, words: Wording, policy: Policy) -> None:
    """An SMS that ends with an app hash must fit what the SMS Retriever reads, as
    start-up checks of the app's own hash (the name may lengthen it too).

    Raises:
        OtpgateError: ``invalid_request``: the message's size, and the most it may be.
    """
    if to.channel != "sms" or policy.android_app_hash is None:
        return
    code = "0" * policy.code_length
    size = retriever_bytes(outgoing_message(texts, "", to, words, code, policy).text)
    if size > RETRIEVER_MAX_BYTES:
        raise OtpgateError(
            "invalid_request",
            f"the {words.locale} message with the app hash line is {size} bytes; the SMS "
            f"Retriever reads {RETRIEVER_MAX_BYTES} at most",
        )
