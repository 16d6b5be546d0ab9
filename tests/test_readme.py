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


def test_every_field_of_the_tracing_table_is_documented() -> None:
    from app.tracing.config import TracingSettings

    row = next(line for line in _table_after("## Settings").splitlines() if "`tracing`" in line)
    for field in msgspec.structs.fields(TracingSettings):
        assert f"`{field.name}`" in row, field.name


def test_every_toml_example_is_a_valid_configuration(tmp_path: Path) -> None:
    examples = re.findall(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    assert len(examples) >= 2
    for number, example in enumerate(examples):
        config = tmp_path / f"example{number}.toml"
        config.write_text(example)
        secrets = {
            name: "not-a-real-secret-but-as-long-as-one"
            for name in re.findall(r"\$\{(\w+)\}", example)
        }
        load_settings({"OTPGATE_CONFIG": str(config), **secrets})


def test_the_event_verification_snippet_verifies_a_real_signature() -> None:
    import time

    from app.signatures import signature_header

    (snippet,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
        if "def verify" in block
    ]
    namespace: dict[str, object] = {}
    exec(snippet, namespace)  # the README's own code
    verify = namespace["verify"]
    body = b'{"id": "evt_1", "type": "verification.approved"}'
    header = signature_header("whsec_readme", int(time.time()), body)
    assert verify("whsec_readme", header, body)  # type: ignore[operator]
    assert not verify("whsec_other", header, body)  # type: ignore[operator]
    assert not verify("whsec_readme", header, body + b" ")  # type: ignore[operator]
    stale = signature_header("whsec_readme", int(time.time()) - 600, body)
    assert not verify("whsec_readme", stale, body)  # type: ignore[operator]


def test_every_field_of_every_provider_adapter_is_documented() -> None:
    from app.providers.registry import ADAPTERS

    reference = README.split("#### Every provider field", 1)[1].split("#### The `http`", 1)[0]
    for kind, adapter in ADAPTERS.items():
        section = reference.split(f"\n`{kind}` — ", 1)[1].split("\n`", 1)[0]
        table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
        for field in msgspec.structs.fields(adapter.config):
            assert f"`{field.encode_name}`" in table, (kind, field.encode_name)
