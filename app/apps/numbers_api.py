"""Admin routes for an app's safe numbers and test numbers at run time: list, add, remove.

A ``read`` key lists its own app's, an ``admin`` key changes them, an ``operator`` key
any app's. Beside the TOML file's lists, in force on every instance within a second.
Nothing shows a number in clear or a test number's code (:mod:`app.apps.listed`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey
from app.apps.listed import NumberEntry
from app.apps.numbers import NumberLists
from app.http.contract import API_KEY_PROBLEMS, problems

__all__ = ["SafeNumbersController", "TestNumbersController"]

AppName = Annotated[str, PathParameter(description="The app (the key's own, unless operator).")]
NumberId = Annotated[str, PathParameter(description="The entry's id (`num_…`).")]
Number = Annotated[
    str, msgspec.Meta(description="The number in E.164 (`+8613800138000`); stored as a digest.")
]
Until = Annotated[
    float | Annotated[datetime, msgspec.Meta(tz=True)],
    msgspec.Meta(
        description="When it ends: Unix time in seconds, or ISO 8601 with an offset; in the "
        "future, at most 10 years ahead. Omitted: no end."
    ),
]
Note = Annotated[
    str,
    msgspec.Meta(
        max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$", description="A note for people."
    ),
]
Code = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{4,10}$",
        description="The fixed code it gets: as many digits as the app's `code_length`.",
    ),
]
_ADD_PROBLEMS = (
    *API_KEY_PROBLEMS, "invalid_request", "payload_too_large", "invalid_phone", "app_not_found",
)  # fmt: skip


class NewSafeNumber(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A number to exempt from the pumping guards (one listed already: its entry is replaced)."""

    number: Number
    until: Until | None = None
    note: Note = ""


class NewTestNumber(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A number to give a fixed code and no SMS (one listed already: its entry is replaced)."""

    number: Number
    code: Code
    until: Until | None = None
    note: Note = ""


class NumberView(msgspec.Struct, frozen=True):
    """A safe or test number as it is shown: masked, and never a test number's code."""

    id: Annotated[str, msgspec.Meta(description="The entry's id (`num_…`).")]
    number: Annotated[str, msgspec.Meta(description="The number, masked (`+86138****8000`).")]
    until: Annotated[float | None, msgspec.Meta(description="Unix time it ends; null: never.")]
    note: Annotated[str, msgspec.Meta(description="A note for people.")]
    created_at: Annotated[float, msgspec.Meta(description="Unix time it was added or replaced.")]
    created_by: Annotated[str, msgspec.Meta(description="The id of the API key that added it.")]


class NumberList(msgspec.Struct, frozen=True):
    """An app's safe or test numbers in force."""

    numbers: Annotated[list[NumberView], msgspec.Meta(description="Oldest first.")]


def _view(entry: NumberEntry) -> NumberView:
    return NumberView(
        entry.id, entry.masked, entry.until, entry.note, entry.created_at, entry.created_by
    )


def _list(entries: list[NumberEntry]) -> NumberList:
    return NumberList([_view(entry) for entry in entries])


class SafeNumbersController(Controller):
    path = "/v1/apps/{app:str}/safe-numbers"
    tags = ["numbers"]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, NumberLists]

    @get(
        "/",
        operation_id="listSafeNumbers",
        guards=[requires_scope("read")],
        summary="The app's safe numbers set at run time",
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def list_safe(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberList:
        return _list(await numbers.listed(app_for(request.user, app), "safe"))

    @post(
        "/",
        operation_id="addSafeNumber",
        guards=[requires_scope("admin")],
        summary="Exempt a number from the pumping guards (or replace its entry)",
        status_code=201,
        **problems(*_ADD_PROBLEMS),
    )
    async def add_safe(
        self,
        app: AppName,
        data: JSONBody[NewSafeNumber],
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberView:
        name, by = app_for(request.user, app), request.user.id
        entry = await numbers.add(
            name, "safe", data.number, by=by, until=data.until, note=data.note
        )
        return _view(entry)

    @delete(
        "/{number_id:str}",
        operation_id="removeSafeNumber",
        guards=[requires_scope("admin")],
        summary="Take a number off the safe numbers",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "app_not_found", "number_not_found"),
    )
    async def remove_safe(
        self,
        app: AppName,
        number_id: NumberId,
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberView:
        name, by = app_for(request.user, app), request.user.id
        return _view(await numbers.remove(name, "safe", number_id, by=by))


class TestNumbersController(Controller):
    path = "/v1/apps/{app:str}/test-numbers"
    tags = ["numbers"]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, NumberLists]

    @get(
        "/",
        operation_id="listTestNumbers",
        guards=[requires_scope("read")],
        summary="The app's test numbers set at run time (never their codes)",
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def list_test(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberList:
        return _list(await numbers.listed(app_for(request.user, app), "test"))

    @post(
        "/",
        operation_id="addTestNumber",
        guards=[requires_scope("admin")],
        summary="Give a number a fixed code and no SMS (or replace its entry)",
        status_code=201,
        **problems(*_ADD_PROBLEMS),
    )
    async def add_test(
        self,
        app: AppName,
        data: JSONBody[NewTestNumber],
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberView:
        name, by = app_for(request.user, app), request.user.id
        entry = await numbers.add(
            name, "test", data.number, by=by, until=data.until, note=data.note, code=data.code
        )
        return _view(entry)

    @delete(
        "/{number_id:str}",
        operation_id="removeTestNumber",
        guards=[requires_scope("admin")],
        summary="Take a number off the test numbers",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "app_not_found", "number_not_found"),
    )
    async def remove_test(
        self,
        app: AppName,
        number_id: NumberId,
        request: Request[ApiKey, str, Any],
        numbers: NamedDependency[NumberLists],
    ) -> NumberView:
        name, by = app_for(request.user, app), request.user.id
        return _view(await numbers.remove(name, "test", number_id, by=by))
