"""Twilio's Attempts, Attempts Summary and Safe List over otpgate's attempt log,
statistics and run-time safe numbers.

- ``/v2/Attempts``: the app's newest sends (:mod:`app.delivery.attempts`, 1,000 per
  app) whose verification is still stored (``retention``), newest first; an attempt is
  ``converted`` once its verification is approved.
- ``/v2/Attempts/Summary``: the statistics' day buckets, counted per verification (a
  resend is not another attempt), by whole UTC days.
- ``/v2/SafeList/Numbers``: the key's app's run-time safe numbers (Twilio's list is the
  account's; otpgate's are per app). A number is never stored in clear: the answer echoes
  the number the request named.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from app.errors import OtpgateError
from app.phone import normalize_phone
from app.store.keys import Keys
from app.twilio_verify import sids
from app.twilio_verify.errors import TwilioError, invalid_parameter, unsupported
from app.twilio_verify.forms import twilio_channel
from app.twilio_verify.pages import Meta, channel_filter, meta
from app.twilio_verify.resources import AttemptResource, SafeListResource, Summary, twilio_time

if TYPE_CHECKING:
    from app.apps.numbers import NumberLists
    from app.delivery.attempts import AttemptLog, LoggedAttempt
    from app.delivery.usage import UsageReader
    from app.twilio_verify.pages import AttemptsQuery, SummaryQuery
    from app.verify.models import VerificationDetail
    from app.verify.service import VerificationService

__all__ = ["Insights", "SafeList"]

#: otpgate's message status -> Twilio's ``message_status``.
_MESSAGE_STATUS = {"skipped": "sent", "unknown": "sent"}
_SUMMARY_DAYS = 30


def _e164(number: str) -> str:
    try:
        return normalize_phone(number).e164
    except OtpgateError as exc:
        raise invalid_parameter("PhoneNumber", "E.164, with its +") from exc


class SafeList:
    """The safe list of the key's app."""

    def __init__(self, numbers: NumberLists, keys: Keys) -> None:
        self._numbers, self._keys = numbers, keys

    def _resource(self, app: str, entry_id: str, e164: str, base: str) -> SafeListResource:
        url = f"{base}/v2/SafeList/Numbers/{e164}"
        return SafeListResource(sids.safelist_sid(app, entry_id), e164, url)

    def _entry_id(self, app: str, e164: str) -> str:
        return self._keys.listed_id(app, "safe", self._keys.number(e164))

    async def add(self, app: str, number: str, by: str, base: str) -> SafeListResource:
        e164 = _e164(number)
        entry = await self._numbers.add(app, "safe", e164, by=by, note="Twilio SafeList")
        return self._resource(app, entry.id, e164, base)

    async def fetch(self, app: str, number: str, base: str) -> SafeListResource:
        e164 = _e164(number)
        entry_id = self._entry_id(app, e164)
        if not any(entry.id == entry_id for entry in await self._numbers.listed(app, "safe")):
            raise TwilioError(
                20404, f"The requested resource /SafeList/Numbers/{e164} was not found"
            )
        return self._resource(app, entry_id, e164, base)

    async def remove(self, app: str, number: str, by: str) -> None:
        await self._numbers.remove(app, "safe", self._entry_id(app, _e164(number)), by=by)


class Insights:
    """Attempts and their summary, of one app."""

    def __init__(
        self, log: AttemptLog, verifications: VerificationService, usage: UsageReader, keys: Keys
    ) -> None:
        self._log, self._verifications, self._usage, self._keys = log, verifications, usage, keys

    async def attempts(
        self, app: str, query: AttemptsQuery, base: str, filters: dict[str, str]
    ) -> tuple[list[AttemptResource], Meta]:
        subject = None
        if query.to is not None:
            subject = self._keys.subject(app, self._keys.number(_e164(query.to)))
        wanted_id = None
        if query.verification_sid is not None:
            wanted_id = sids.verification_id(query.verification_sid) or "none"
        logged = [
            entry for entry in await self._log.read(app) if _kept(entry, query, subject, wanted_id)
        ]
        details = await self._verifications.get_many(
            app, list(dict.fromkeys(entry.verification_id for entry in logged))
        )
        wanted, channel = query.conversion(), channel_filter(query.channel)
        found = [
            resource
            for entry in logged
            if (detail := details.get(entry.verification_id)) is not None
            and (resource := _attempt(app, entry, detail, base)) is not None
            and wanted in (None, resource.conversion_status)
            and channel in (None, detail.messages[entry.number - 1].channel)
        ]
        start = query.offset()
        envelope = meta(f"{base}/v2/Attempts", "attempts", query, filters, len(found))
        return found[start : start + query.page_size], envelope

    async def attempt(self, app: str, sid: str, base: str) -> AttemptResource:
        for entry in await self._log.read(app):
            if sids.attempt_sid(entry.verification_id, entry.number) == sid:
                details = await self._verifications.get_many(app, [entry.verification_id])
                detail = details.get(entry.verification_id)
                resource = None if detail is None else _attempt(app, entry, detail, base)
                if resource is not None:
                    return resource
        raise TwilioError(20404, f"The requested resource /Attempts/{sid} was not found")

    async def summary(self, app: str, query: SummaryQuery, base: str) -> Summary:
        today = datetime.now(UTC).date()
        end = _day(query.date_created_before, today)
        start = _day(query.date_created_after, end - timedelta(days=_SUMMARY_DAYS - 1))
        regions, channel = query.regions(), channel_filter(query.channel)
        if regions is not None and channel is not None:  # one slice per counter, not pairs
            raise unsupported("Channel with Country or DestinationPrefix (otpgate counts by one)")
        summed = {} if start > end else await self._usage.summed(app, start, end)
        suffixes = [""] if regions is None else [f"|c={region}" for region in sorted(regions)]
        if channel is not None:
            suffixes = [f"|h={channel}"]
        total, converted = (
            sum(summed.get(f"{figure}{suffix}", 0) for suffix in suffixes)
            for figure in ("verifications", "approved")
        )
        rate = None if not total else str(round(100 * converted / total, 9))
        return Summary(
            total_attempts=total, total_converted=converted,
            total_unconverted=max(0, total - converted), conversion_rate_percentage=rate,
            url=f"{base}/v2/Attempts/Summary",
        )  # fmt: skip


def _kept(
    entry: LoggedAttempt, query: AttemptsQuery, subject: str | None, verification_id: str | None
) -> bool:
    """Whether ``entry`` passes the filters that need no record."""
    if verification_id is not None and entry.verification_id != verification_id:
        return False
    if subject is not None and Keys.subject_of(entry.verification_id) != subject:
        return False
    if query.country is not None and entry.country != query.country.upper():
        return False
    at = entry.at_ms / 1000
    after, before = query.date_created_after, query.date_created_before
    return (after is None or at >= after.timestamp()) and (
        before is None or at < before.timestamp()
    )


def _day(moment: datetime | None, default: date) -> date:
    return default if moment is None else moment.astimezone(UTC).date()


def _attempt(
    app: str, entry: LoggedAttempt, detail: VerificationDetail, base: str
) -> AttemptResource | None:
    if len(detail.messages) < entry.number:
        return None
    message = detail.messages[entry.number - 1]
    converted = detail.status == "approved"
    sid = sids.attempt_sid(entry.verification_id, entry.number)
    updated = message.timeline[-1].received_at if message.timeline else message.created_at
    verification_sid = sids.verification_sid(entry.verification_id) or ""
    status = "confirmed" if converted else "unconfirmed"
    channel_data = {
        "verification_sid": verification_sid, "to": detail.to,
        "status": "expired" if detail.status == "expired" else status,
        "message_status": _MESSAGE_STATUS.get(message.status, message.status),
        "error_code": message.error_code, "country": entry.country or None,
        "provider": message.provider,
    }  # fmt: skip
    return AttemptResource(
        sid=sid, account_sid=sids.account_sid(app), service_sid=sids.service_sid(app),
        verification_sid=verification_sid, date_created=twilio_time(entry.at_ms / 1000),
        date_updated=twilio_time(updated),
        conversion_status="converted" if converted else "unconverted",
        channel=twilio_channel(message.channel), price=None,
        channel_data=channel_data,
        url=f"{base}/v2/Attempts/{sid}",
    )  # fmt: skip
