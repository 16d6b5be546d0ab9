"""The request class of the app: Litestar's, with a body that cannot crash it."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException

__all__ = ["JsonSafeRequest"]


class JsonSafeRequest(Request[Any, Any, Any]):
    """A request whose JSON body, however deeply nested, is at worst a 400."""

    async def json(self) -> Any:
        # msgspec decodes untyped JSON recursively: a body of thousands of nested arrays
        # fits the size limit and raises RecursionError, which is the client's fault.
        try:
            return await super().json()
        except RecursionError:
            raise SerializationException("the JSON body is nested too deeply") from None
