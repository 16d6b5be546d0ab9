"""A pending verification ended by a request, not by a code: canceled, or approved
without one. One script each (``cancel.lua``, ``approve.lua``) on the record and its
index, which share the verification's hash slot, so either works on Redis Cluster and
two requests racing on one verification end it once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.store.keys import Keys
from app.store.outcomes import Approval, Canceled

if TYPE_CHECKING:
    from app.store.redis import Scripts

__all__ = ["Decisions"]


class Decisions:
    """Cancels and approvals by request, of every app's verifications."""

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts

    async def _run(
        self, script: str, app: str, verification_id: str, lookup: str, retention_ms: int
    ) -> list[Any]:
        subject = Keys.subject_of(verification_id)
        keys = [Keys.verification(verification_id), Keys.index(subject, lookup)]
        result: list[Any] = await self._scripts.run(script, keys, [app, retention_ms])
        return result

    async def cancel(
        self, app: str, verification_id: str, lookup: str, retention_ms: int
    ) -> Canceled:
        """Cancel a pending verification (see :class:`Canceled` for the outcomes)."""
        result = await self._run("cancel", app, verification_id, lookup, retention_ms)
        if result == ["canceled", "again"]:
            return Canceled("again")
        if result[0] == "status":
            return Canceled("not_pending", result[1])
        return Canceled(result[0])

    async def approve(
        self, app: str, verification_id: str, lookup: str, retention_ms: int
    ) -> Approval:
        """Approve a pending verification without its code (see :class:`Approval`)."""
        result = await self._run("approve", app, verification_id, lookup, retention_ms)
        if result[0] == "approved":
            provider, channel, country = result[1:4]
            return Approval("approved", provider="" if provider == "-" else provider,
                            channel=channel, country=country)  # fmt: skip
        if result[0] == "status":
            return Approval("not_pending", result[1])
        return Approval(result[0])
