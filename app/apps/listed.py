"""Safe and test numbers set at run time: as Redis keeps them, and as sends look them up.

Redis holds no number and no code in clear. An entry names its number by the keyed
digest every other record uses (:meth:`~app.store.keys.Keys.number`) and shows it masked;
a test number's code is sealed (:mod:`app.sealing`) to its app and number digest, since
each verification needs it back to hash. Every instance keeps the live entries in memory
(:class:`NumberIndex`), read again with the apps whenever their version changes, so a
send finds them by the digest it computes anyway, without a round trip.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Literal

import msgspec

from app.sealing import SealError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.sealing import Sealer

__all__ = ["CODE_SEALING", "Kind", "NumberEntry", "NumberIndex", "code_place"]

log = logging.getLogger("otpgate.apps")

#: ``safe``: skips the pumping guards; ``test``: a fixed code and no SMS.
Kind = Literal["safe", "test"]
#: The HKDF label of the key test codes are sealed under (never the pepper itself).
CODE_SEALING = b"otpgate test-number code v1"


class NumberEntry(msgspec.Struct, frozen=True, omit_defaults=True):
    """One app's safe or test number, as Redis keeps it."""

    id: str
    app: str
    kind: Kind
    #: The number's keyed digest, never the number.
    number: str
    masked: str
    created_at: float
    #: The id of the API key that added it.
    created_by: str
    #: Unix time it ends; None: never.
    until: float | None = None
    note: str = ""
    #: A test number's code, sealed to :func:`code_place`.
    code: str | None = None

    def live(self, now: float) -> bool:
        return self.until is None or now < self.until


def code_place(app: str, number: str) -> bytes:
    """What a test code is sealed to: its app and number digest (moved, it does not open)."""
    return b"test-number\x00" + app.encode() + b"\x00" + number.encode()


class NumberIndex:
    """The live entries of every app by (app, number digest), with their end (``inf``:
    none) and a test number's code: what a send looks up."""

    def __init__(
        self,
        safe: Mapping[tuple[str, str], float] | None = None,
        test: Mapping[tuple[str, str], tuple[float, str]] | None = None,
    ) -> None:
        self._safe = dict(safe or {})
        self._test = dict(test or {})

    @classmethod
    def read(cls, stored: Mapping[str, str], sealer: Sealer, now: float) -> NumberIndex:
        """The index of the stored entries (entry id -> JSON) still in force at ``now``.

        An entry it cannot read or whose code does not open (written by another version,
        sealed under another pepper) is left out, and logged.
        """
        safe: dict[tuple[str, str], float] = {}
        test: dict[tuple[str, str], tuple[float, str]] = {}
        for number_id, raw in stored.items():
            try:
                entry = msgspec.json.decode(raw, type=NumberEntry)
            except msgspec.DecodeError:
                log.error("apps: listed number %s cannot be read; it is left out", number_id)
                continue
            if not entry.live(now):
                continue
            end = math.inf if entry.until is None else entry.until
            if entry.kind == "safe":
                safe[entry.app, entry.number] = end
                continue
            try:
                code = sealer.open(entry.code or "", code_place(entry.app, entry.number))
            except SealError:
                log.error("apps: test number %s: its code does not open; left out", number_id)
                continue
            test[entry.app, entry.number] = (end, code.decode())
        return cls(safe, test)

    def safe(self, app: str, number: str, now: float) -> bool:
        """``number`` (a digest) is one of ``app``'s safe numbers at ``now``."""
        return now < self._safe.get((app, number), -math.inf)

    def test_code(self, app: str, number: str, now: float) -> str | None:
        """The fixed code of ``app``'s test number ``number`` (a digest) at ``now``."""
        found = self._test.get((app, number))
        return found[1] if found is not None and now < found[0] else None
