"""Secrets in configuration: marked by their type, masked wherever settings are shown.

A field typed :data:`Secret` holds a credential (a pepper, an API secret, a signing key).
:func:`redacted` turns a settings struct into plain data with every such field masked,
wherever it sits (a provider's config, an app's events secret), and the password of
every URL hidden, so ``otpgate check-config`` and logs can show what is configured
without showing what would let someone use it. ``${NAME}`` references in the file are
read from the environment (:func:`expand_references`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import msgspec.inspect as mi

__all__ = ["MASK", "Secret", "mask_url", "redacted"]

#: Marks a string setting as a credential: never shown, logged or stored in clear.
Secret = Annotated[str, msgspec.Meta(extra={"secret": True})]
MASK = "********"


def mask_url(url: str) -> str:
    """``url`` with the password of its userinfo (``redis://:pw@host``) masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    netloc = parts.netloc.replace(f":{password}@", f":{MASK}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _is_secret(info: mi.Type) -> bool:
    return isinstance(info, mi.Metadata) and bool((info.extra or {}).get("secret"))


def _redact(value: Any, info: mi.Type) -> Any:
    if value is None:
        return None
    if _is_secret(info):
        return MASK
    if isinstance(info, mi.Metadata):
        return _redact(value, info.type)
    if isinstance(info, mi.UnionType):
        # Optional[Secret] and friends: a member that is secret makes the value secret.
        if any(_is_secret(member) for member in info.types):
            return MASK
        structs = [m for m in info.types if isinstance(m, mi.StructType)]
        matching = [m for m in structs if isinstance(value, m.cls)]
        return _redact(value, matching[0]) if matching else _plain(value)
    if isinstance(info, mi.StructType):
        # A tagged struct (a provider account's config) says which it is by its tag.
        tag = {} if info.tag_field is None else {info.tag_field: info.tag}
        return tag | {
            field.encode_name: _redact(getattr(value, field.name), field.type)
            for field in info.fields
        }
    if isinstance(info, mi.DictType):
        return {key: _redact(item, info.value_type) for key, item in value.items()}
    if isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return [_redact(item, info.item_type) for item in value]
    if isinstance(info, mi.TupleType):
        return [_redact(item, t) for item, t in zip(value, info.item_types, strict=False)]
    return _plain(value)


def _plain(value: Any) -> Any:
    """Untyped data (``dict[str, Any]``): only URLs can be recognised as holding a secret."""
    builtins = msgspec.to_builtins(value)
    if isinstance(builtins, str):
        return mask_url(builtins)
    if isinstance(builtins, dict):
        return {key: _plain(item) for key, item in builtins.items()}
    if isinstance(builtins, list):
        return [_plain(item) for item in builtins]
    return builtins


def redacted(value: msgspec.Struct) -> dict[str, Any]:
    """``value`` as plain data, every :data:`Secret` masked and every URL's password hidden."""
    result: dict[str, Any] = _redact(value, mi.type_info(type(value)))
    return result


_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def expand_references(value: Any, environ: dict[str, str], where: str) -> Any:
    """Replace ``"${NAME}"`` strings with the environment variable ``NAME``, so that
    provider credentials live in the environment (or a secret store) and not in the file.

    Raises:
        ValueError: ``NAME`` is not set (the message says where).
    """
    if isinstance(value, dict):
        return {k: expand_references(v, environ, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [expand_references(v, environ, where) for v in value]
    if isinstance(value, str) and (match := _REFERENCE.match(value)):
        if match.group(1) not in environ:
            raise ValueError(f"{where}: environment variable {match.group(1)} is not set")
        return environ[match.group(1)]
    return value
