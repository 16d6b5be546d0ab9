"""Credentials are masked by their type wherever configuration is shown."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from app.providers.registry import ADAPTERS
from app.sensitive import MASK, mask_url, redacted
from app.settings import AppSettings, Settings
from tests.providers.test_routing import KINDS, provider

ROOT = Path(__file__).parent.parent


def secret_fields(struct: type[msgspec.Struct]) -> set[str]:
    """Names of the fields typed ``Secret`` (alone, optional, or as a dict's values)."""

    def is_secret(info: mi.Type) -> bool:
        if isinstance(info, mi.Metadata):
            return bool((info.extra or {}).get("secret")) or is_secret(info.type)
        if isinstance(info, mi.UnionType):
            return any(is_secret(member) for member in info.types)
        if isinstance(info, mi.DictType):
            return is_secret(info.value_type)
        return False

    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    return {field.encode_name for field in info.fields if is_secret(field.type)}


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_every_credential_field_of_every_adapter_is_typed_secret(kind: str) -> None:
    # A safety net for the next adapter: anything named like a credential must be a Secret.
    looks_secret = re.compile(r"(secret|token|password)(?!_id$)")  # not Tencent's secret_id
    fields = mi.type_info(ADAPTERS[kind].config).fields  # type: ignore[attr-defined]
    named = {field.encode_name for field in fields if looks_secret.search(field.encode_name)}
    assert named, f"{kind}: no credential field found; is the pattern out of date?"
    assert named <= secret_fields(ADAPTERS[kind].config)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_redacted_masks_every_secret_of_every_adapter(kind: str) -> None:
    config = KINDS[kind][0](base_url="https://user:url-password@provider.example")
    secrets_ = {
        name: value
        for name, value in msgspec.to_builtins(config).items()
        if name in secret_fields(type(config)) and value
    }
    assert secrets_
    shown = redacted(config)
    dump = json.dumps(shown, ensure_ascii=False)
    for name, value in secrets_.items():
        assert shown[name] == MASK or all(v == MASK for v in shown[name].values())
        for part in value.values() if isinstance(value, dict) else [value]:
            assert part not in dump
    assert "url-password" not in dump


def test_settings_secrets_and_url_passwords_are_masked() -> None:
    settings = msgspec.convert(
        {
            "redis_url": "redis://:redis-pw@10.0.0.1:6379/0",
            "pepper": "p" * 40,
            "bootstrap_api_key": "b" * 40,
            "apps": {
                "shop": {
                    "events_url": "https://hook:events-pw@shop.example/e",
                    "events_secret": "e" * 20,
                    "abuse": {"hook_url": "https://u:hook-pw@shop.example/h"},
                }
            },
        },
        Settings,
    )
    dump = json.dumps(redacted(settings))
    for value in ("redis-pw", "p" * 40, "b" * 40, "events-pw", "e" * 20, "hook-pw"):
        assert value not in dump
    assert redacted(settings)["redis_url"] == f"redis://:{MASK}@10.0.0.1:6379/0"
    assert secret_fields(AppSettings) == {"events_secret"}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://user:pw@h:1/0", f"rediss://user:{MASK}@h:1/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_check_config_prints_no_credential_even_from_environment_references(
    tmp_path: Path,
) -> None:
    environ: dict[str, str] = {}
    lines: list[str] = []
    routes = []
    for kind in sorted(KINDS):
        fields = {
            k: v for k, v in provider(kind, "https://provider.example").items() if v is not None
        }
        for name in secret_fields(ADAPTERS[kind].config):
            if isinstance(fields.get(name), str):
                variable = f"SECRET_{kind.upper()}_{name.upper()}"
                environ[variable] = f"{kind}-{name}-from-env-{'x' * 8}"
                fields[name] = f"${{{variable}}}"
        lines.append(f"[providers.{kind}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()
                  if not isinstance(value, dict)]  # fmt: skip
        for key, value in fields.items():
            if isinstance(value, dict):
                lines.append(f"{key} = {_inline(value)}")
        routes.append(kind)
    lines += ["[routes]", f"default = {json.dumps(routes)}"]
    config = tmp_path / "otpgate.toml"
    config.write_text("\n".join(lines) + "\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "OTPGATE_CONFIG": str(config),
        "OTPGATE_REDIS_URL": "redis://:the-redis-password@127.0.0.1:1/0",
        "OTPGATE_PEPPER": "the-pepper-" + "p" * 30,
        **environ,
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "check-config"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "configuration is valid" in output
    for value in [*environ.values(), "the-redis-password", env["OTPGATE_PEPPER"]]:
        assert value not in output
    shown = json.loads(output.rsplit("configuration is valid", 1)[0])
    assert set(shown["providers"]) == set(KINDS)
    assert shown["providers"]["aliyun"]["access_key_secret"] == MASK


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        members = [f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(members) + " }"
    return json.dumps(value, ensure_ascii=False)
