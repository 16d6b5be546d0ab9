"""The README's tables stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from app.errors import ERRORS
from app.settings import Settings, load_settings

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


def test_every_toml_example_is_a_valid_configuration(tmp_path: Path) -> None:
    examples = re.findall(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    assert len(examples) >= 2
    for number, example in enumerate(examples):
        config = tmp_path / f"example{number}.toml"
        config.write_text(example)
        secrets = {name: "not-a-real-secret" for name in re.findall(r"\$\{(\w+)\}", example)}
        load_settings({"OTPGATE_CONFIG": str(config), **secrets})
