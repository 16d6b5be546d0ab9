"""Beijing time, the clock of the Chinese providers' timestamps (UTC+8 all year)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.providers.reports import CallbackError

__all__ = ["BEIJING", "DIGITS", "SPACED", "beijing_time", "beijing_timestamp"]

#: China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tzdata.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
#: ``yyyyMMddHHmmss``: Cloopen's request timestamp and report times, one of Chuanglan's.
DIGITS = "%Y%m%d%H%M%S"
#: ``yyyy-MM-dd HH:mm:ss``: Alibaba's and Tencent's report times.
SPACED = "%Y-%m-%d %H:%M:%S"


def beijing_time(value: str | None, time_format: str, field: str) -> datetime | None:
    """A Chinese provider's local timestamp as an aware UTC datetime (None if empty).

    Raises:
        CallbackError: the value does not have ``time_format``.
    """
    if not value:
        return None
    try:
        local = datetime.strptime(value, time_format)
    except ValueError:
        raise CallbackError(f"unreadable {field} {value!r}") from None
    return local.replace(tzinfo=BEIJING).astimezone(UTC)


def beijing_timestamp(now: datetime) -> str:
    """``now`` as ``yyyyMMddHHmmss`` in Beijing time (what Cloopen's SDK sends)."""
    return now.astimezone(BEIJING).strftime(DIGITS)
