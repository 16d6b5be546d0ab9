"""The ``OTPGATE_*`` environment, read into settings values: each flat setting by its
upper-cased name, ``OTPGATE_ARGON2_<FIELD>`` into ``argon2``; any other ``OTPGATE_*``
name is refused with the closest valid one, since a typo must not be ignored. (The
structured settings, tables of the TOML file, have no variable.)"""

from __future__ import annotations

import difflib
import functools
from typing import Any

import msgspec
import msgspec.inspect as mi

from app.verify.config import Argon2Settings

__all__ = ["ENV_PREFIX", "environment_values"]

ENV_PREFIX = "OTPGATE_"
#: ``OTPGATE_*`` variables that are not settings: the TOML file's path, and the Redis
#: the test suite may be pointed at.
_OTHER_VARIABLES = frozenset({"config", "test_redis_url"})
_ARGON2_FIELDS = frozenset(Argon2Settings.__struct_fields__)


def _is_structured(info: mi.Type) -> bool:
    """A table of the TOML file (a struct or a mapping), not one value an env var holds."""
    return isinstance(info, mi.StructType | mi.DictType) or (
        isinstance(info, mi.Metadata) and _is_structured(info.type)
    )


@functools.cache
def _flat_fields(settings: type[msgspec.Struct]) -> frozenset[str]:
    fields = mi.type_info(settings).fields  # type: ignore[attr-defined]
    return frozenset(field.name for field in fields if not _is_structured(field.type))


def environment_values(environ: dict[str, str], settings: type[msgspec.Struct]) -> dict[str, Any]:
    """The values of ``settings`` that ``environ`` sets.

    Raises:
        ValueError: an ``OTPGATE_*`` variable that is no setting (the message names the
            closest one).
    """
    flat = _flat_fields(settings)
    values: dict[str, Any] = {}
    argon2: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in flat:
            values[name] = value
        elif name.startswith("argon2_") and name.removeprefix("argon2_") in _ARGON2_FIELDS:
            argon2[name.removeprefix("argon2_")] = value
        elif name not in _OTHER_VARIABLES:
            raise ValueError(_unknown_variable(key, name, settings, flat))
    if argon2:
        values["argon2"] = argon2
    return values


def _unknown_variable(
    key: str, name: str, settings: type[msgspec.Struct], flat: frozenset[str]
) -> str:
    """Why ``key`` is refused, with the closest valid name."""
    if name in settings.__struct_fields__:
        return f"{key}: `{name}` is set in the TOML file (OTPGATE_CONFIG), not the environment"
    valid = [*flat, *_OTHER_VARIABLES, *(f"argon2_{f}" for f in _ARGON2_FIELDS)]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {ENV_PREFIX}{close[0].upper()}?" if close else ""
    return f"{key} is not an otpgate setting{hint}"
