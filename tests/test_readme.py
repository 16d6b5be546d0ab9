"""The README's tables stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from app.errors import ERRORS
from app.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def _table_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_every_error_code_is_documented_with_its_status() -> None:
    table = _table_after("### Error codes")
    for code, (status, _) in ERRORS.items():
        assert re.search(rf"\| `{code}` \| {status} \|", table), code


def test_every_setting_is_documented() -> None:
    table = _table_after("## Settings")
    for field in msgspec.structs.fields(Settings):
        assert f"`{field.name}`" in table, field.name
