"""An app's opt-outs for its admins: listed (masked, never the number), cleared one by one
by id or by number, with the app's inbound paths to point providers at."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec

from app.errors import OtpgateError
from app.phone import mask_phone, normalize_phone
from app.store.optouts import OptOut

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.delivery.inbound import InboundService
    from app.delivery.ledger import Ledger
    from app.store.keys import Keys
    from app.store.optouts import OptOutStore

__all__ = ["OptOutPage", "OptOutView", "OptOuts"]


class OptOutView(msgspec.Struct, frozen=True):
    """A number that opted out of the app: masked, never in clear."""

    id: Annotated[str, msgspec.Meta(description="The opt-out's id (`opt_…`).")]
    number: Annotated[str, msgspec.Meta(description="The number, masked (`+86138****8000`).")]
    country: Annotated[str, msgspec.Meta(description="Its ISO 3166 alpha-2 country.")]
    opted_out_at: Annotated[float, msgspec.Meta(description="Unix time (s) it opted out.")]
    provider: Annotated[str, msgspec.Meta(description="The provider its stop word came through.")]
    keyword: Annotated[
        str, msgspec.Meta(description="The stop word, as compared (folded: `td`, `退订`).")
    ]


class OptOutPage(msgspec.Struct, frozen=True):
    """Some of the app's opt-outs, and where each provider forwards its inbound messages."""

    opt_outs: Annotated[list[OptOutView], msgspec.Meta(description="Newest first, in this page.")]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(description="Pass as `cursor` for the next page; null: this was the last."),
    ]
    inbound_paths: Annotated[
        dict[str, str],
        msgspec.Meta(
            description="By provider name, the path of the app's inbound URL (append it to "
            "your public URL) for each provider that forwards inbound SMS."
        ),
    ]


def view(entry: OptOut) -> OptOutView:
    return OptOutView(
        entry.id, entry.number, entry.country, entry.at, entry.provider, entry.keyword
    )


class OptOuts:
    """The opt-outs of every app, as its admins see and clear them."""

    def __init__(
        self,
        *,
        store: OptOutStore,
        keys: Keys,
        ledger: Ledger,
        inbound: InboundService,
        known: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._keys = keys
        self._ledger = ledger
        self._inbound = inbound
        self._known = known

    async def page(self, app: str, cursor: str, limit: int) -> OptOutPage:
        """About ``limit`` opt-outs from ``cursor`` (``"0"``: the start)."""
        self._app(app)
        following, entries = await self._store.page(app, int(cursor), limit)
        entries.sort(key=lambda entry: (-entry.at, entry.id))
        return OptOutPage(
            [view(entry) for entry in entries],
            str(following) if following else None,
            self._inbound.paths(app),
        )

    async def clear(self, app: str, opt_out_id: str, *, by: str) -> OptOutView:
        """Opt the number of ``opt_out_id`` back in to ``app``, as an admin."""
        self._app(app)
        entry = await self._store.find(app, opt_out_id)
        if entry is None:
            raise OtpgateError("opt_out_not_found", f"no opt-out {opt_out_id!r} in this app")
        await self._cleared(app, entry, by)
        return view(entry)

    async def clear_number(self, app: str, number: str, *, by: str) -> OptOutView:
        """Opt ``number`` (E.164) back in to ``app``, as an admin: its mark goes even when
        the app's list lost its entry (a STOP and a START at the same instant)."""
        self._app(app)
        phone = normalize_phone(number)
        digest = self._keys.number(phone.e164)
        opt_out_id = self._keys.opt_out_id(app, digest)
        listed = await self._store.find(app, opt_out_id)
        entry = listed or OptOut(
            id=opt_out_id, subject=self._keys.subject(app, digest),
            number=mask_phone(phone.e164), country=phone.region, at=0.0, provider="",
            keyword="",
        )  # fmt: skip
        if not await self._cleared(app, entry, by) and listed is None:
            raise OtpgateError("opt_out_not_found", "that number has not opted out of this app")
        return view(entry)

    async def _cleared(self, app: str, entry: OptOut, by: str) -> bool:
        """Whether ``entry``'s number was opted out (its mark was there) until now."""
        [was] = await self._store.unmark(app, [(entry.subject, entry.id)])
        if was:  # of two clears at once, one tells the app
            await self._ledger.write(self._ledger.opted(app, entry, out=False, by=by))
        return was

    def _app(self, app: str) -> None:
        if not self._known(app):
            raise OtpgateError("app_not_found", f"no app {app!r}")
