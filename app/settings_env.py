"""The ``OTPGATE_*`` environment, read into settings values: each flat setting by its
upper-cased name, ``OTPGATE_ARGON2_<FIELD>`` into ``argon2`` and ``OTPGATE_TRACING_<FIELD>``
into ``tracing`` (their flat fields); any other ``OTPGATE_*`` name is refused with the
closest valid one, since a typo must not be ignored. (The other structured settings,
tables of the TOML file, have no variable.)"""

from __future__ import annotations

import difflib
import functools
from typing import Any

import msgspec
import msgspec.inspect as mi

from app.tracing.config import TracingSettings
from app.verify.config import Argon2Settings

__all__ = ["ENV_PREFIX", "TABLES_WITH_VARIABLES", "environment_values"]

ENV_PREFIX = "OTPGATE_"
#: ``OTPGATE_*`` variables that are not settings: the TOML file's path, and the Redis
#: the test suite may be pointed at.
_OTHER_VARIABLES = frozenset({"config", "test_redis_url"})
#: The tables whose flat fields also have a variable each (``OTPGATE_<TABLE>_<FIELD>``).
TABLES_WITH_VARIABLES: dict[str, type[msgspec.Struct]] = {
    "argon2": Argon2Settings,
    "tracing": TracingSettings,
}


def _is_structured(info: mi.Type) -> bool:
    """A table of the TOML file (a struct or a mapping), not one value an env var holds."""
    return isinstance(info, mi.StructType | mi.DictType) or (
        isinstance(info, mi.Metadata) and _is_structured(info.type)
    )


@functools.cache
def _flat_fields(settings: type[msgspec.Struct]) -> frozenset[str]:
    fields = mi.type_info(settings).fields  # type: ignore[attr-defined]
    return frozenset(field.name for field in fields if not _is_structured(field.type))


def _table_field(name: str) -> tuple[str, str] | None:
    """``(table, field)`` when ``name`` (``argon2_time_cost``) is a table's flat field."""
    for table, struct in TABLES_WITH_VARIABLES.items():
        field = name.removeprefix(f"{table}_")
        if field != name and field in _flat_fields(struct):
            return table, field
    return None


def environment_values(environ: dict[str, str], settings: type[msgspec.Struct]) -> dict[str, Any]:
    """The values of ``settings`` that ``environ`` sets.

    Raises:
        ValueError: an ``OTPGATE_*`` variable that is no setting (the message names the
            closest one).
    """
    flat = _flat_fields(settings)
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in flat:
            values[name] = value
        elif (found := _table_field(name)) is not None:
            values.setdefault(found[0], {})[found[1]] = value
        elif name not in _OTHER_VARIABLES:
            raise ValueError(_unknown_variable(key, name, settings, flat))
    return values


def _unknown_variable(
    key: str, name: str, settings: type[msgspec.Struct], flat: frozenset[str]
) -> str:
    """Why ``key`` is refused, with the closest valid name."""
    in_file = "is set in the TOML file (OTPGATE_CONFIG), not the environment"
    if name in settings.__struct_fields__:
        return f"{key}: `{name}` {in_file}"
    for table, struct in TABLES_WITH_VARIABLES.items():
        if name.startswith(f"{table}_") and name[len(table) + 1 :] in struct.__struct_fields__:
            return f"{key}: `{table}.{name[len(table) + 1 :]}` {in_file}"
    tables = [
        f"{table}_{field}"
        for table, struct in TABLES_WITH_VARIABLES.items()
        for field in _flat_fields(struct)
    ]
    valid = [*flat, *_OTHER_VARIABLES, *tables]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {ENV_PREFIX}{close[0].upper()}?" if close else ""
    return f"{key} is not an otpgate setting{hint}"
