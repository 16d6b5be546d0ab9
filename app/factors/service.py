"""TOTP factors: enroll a secret, confirm it with a first code, check codes, revoke.

A secret leaves otpgate once, in the answer that creates its factor (as the URI and QR
code an authenticator app scans); Redis holds it sealed (:mod:`app.factors.keyring`),
bound to its factor id. A check costs two round trips: read the factor and the
subject's failures, then ``factor_check.lua``, which refuses a code of a time step
already accepted, whichever instance checked it first.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import msgspec

from app.errors import OtpgateError
from app.factors import totp
from app.factors.models import Enrolled, FactorCheck, FactorView, NewFactor
from app.store.factors import FactorRecord

if TYPE_CHECKING:
    from app.factors.keyring import Keyring
    from app.settings import Settings
    from app.store.factors import FactorStore
    from app.store.keys import Keys

__all__ = ["FactorService"]


def view(record: FactorRecord) -> FactorView:
    return FactorView(
        id=record.id, app=record.a, friendly_name=record.n,
        status="verified" if record.st == "v" else "unverified",
        digits=record.d, period=record.p, created_at=record.c / 1000,
        verified_at=record.v / 1000 if record.v else None,
        last_used_at=record.u / 1000 if record.u else None,
    )  # fmt: skip


class FactorService:
    def __init__(
        self, store: FactorStore, keys: Keys, keyring: Keyring, settings: Settings
    ) -> None:
        self._store, self._keys, self._keyring = store, keys, keyring
        self._settings, self._policies = settings.factors, settings

    async def enroll(self, app: str, request: NewFactor) -> Enrolled:
        """A new, unverified factor; its secret, URI and QR code (the issuer: the app's
        display name), this once."""
        issuer = self._policies.policy_for(app).app_name
        subject = self._keys.factor_subject(app, request.subject)
        factor_id = self._keys.new_factor_id(subject)
        secret, digits, period = totp.new_secret(), self._settings.digits, self._settings.period
        record = FactorRecord(
            id=factor_id, a=app, s=subject, n=request.friendly_name, st="u",
            k=self._keyring.seal(secret.encode(), factor_id.encode()), d=digits, p=period,
            c=int(time.time() * 1000),
        )  # fmt: skip
        await self._store.create(record, int(self._settings.enroll_ttl * 1000))
        uri = totp.provisioning_uri(secret, request.friendly_name, issuer, digits, period)
        png = base64.b64encode(totp.qr_png(uri)).decode()
        return Enrolled(
            **msgspec.structs.asdict(view(record)), secret=secret, uri=uri,
            qr_png=f"data:image/png;base64,{png}",
        )  # fmt: skip

    async def get(self, app: str, factor_id: str) -> FactorView:
        record, _ = await self._found(app, factor_id)
        return view(record)

    async def of_subject(self, app: str, subject: str) -> list[FactorView]:
        records = await self._store.of_subject(self._keys.factor_subject(app, subject))
        return [view(record) for record in records if record.a == app]

    async def check(self, app: str, factor_id: str, code: str, mode: str) -> FactorCheck:
        """``mode`` ``confirm``: the first code of an unverified factor; ``check``: a
        code of a verified one."""
        record, failures = await self._found(app, factor_id)
        allowed = self._settings.max_failures
        if failures >= allowed:
            raise _locked(factor_id)
        secret = self._keyring.open(record.k, factor_id.encode()).decode()
        step = 0
        if len(code) == record.d:
            step = totp.matched_step(
                secret, code, time.time(), record.d, record.p, self._settings.drift
            )
        resealed = (
            "" if self._keyring.is_current(record.k)
            else self._keyring.seal(secret.encode(), factor_id.encode())
        )  # fmt: skip
        done = await self._store.check(record, mode, step, allowed, resealed)
        return _answer(factor_id, done.outcome, done.failures, allowed, mode)

    async def revoke(self, app: str, factor_id: str) -> FactorView:
        record, _ = await self._found(app, factor_id)
        if not await self._store.delete(record):
            raise OtpgateError("factor_not_found", f"no factor {factor_id!r}")
        return msgspec.structs.replace(view(record), status="revoked")

    async def unlock(self, app: str, subject: str) -> None:
        """Forget a subject's consecutive wrong codes (a support desk, after checking)."""
        await self._store.unlock(self._keys.factor_subject(app, subject))

    async def _found(self, app: str, factor_id: str) -> tuple[FactorRecord, int]:
        if not self._keys.is_factor_id(factor_id):
            raise OtpgateError("factor_not_found", f"no factor {factor_id!r}")
        record, failures = await self._store.get(factor_id, self._keys.subject_of_factor(factor_id))
        if record is None or record.a != app:  # another app's factor does not exist here
            raise OtpgateError("factor_not_found", f"no factor {factor_id!r}")
        return record, failures


def _locked(factor_id: str) -> OtpgateError:
    return OtpgateError(
        "factor_locked",
        f"too many wrong codes in a row for the subject of {factor_id}; an admin must unlock it",
    )


def _answer(factor_id: str, outcome: str, failures: int, allowed: int, mode: str) -> FactorCheck:
    if outcome == "missing":
        raise OtpgateError("factor_not_found", f"no factor {factor_id!r}")
    if outcome == "locked":
        raise _locked(factor_id)
    if outcome == "not_verified":
        raise OtpgateError("factor_not_verified", "confirm the factor with its first code")
    if outcome == "verified_already":
        raise OtpgateError("factor_verified", "the factor is confirmed already; check codes")
    valid = outcome == "ok"
    return FactorCheck(
        factor_id=factor_id, valid=valid,
        status="verified" if valid or mode == "check" else "unverified",
        reason=None if valid else outcome,  # type: ignore[arg-type]
        failures_remaining=max(0, allowed - failures),
    )  # fmt: skip
