"""A client generated from openapi.json by openapi-python-client works against a live
otpgate: it sends a code, checks a wrong one, and reads a typed error."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import API_KEY, ClientFactory, latest_code
from tests.contract import OPENAPI_JSON

PACKAGE = "otpgate_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated into a temporary directory and imported."""
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is only imported
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"), "generate",
            "--path", str(OPENAPI_JSON), "--meta", "none", "--config", str(config),
            "--output-path", str(root / PACKAGE),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # The one part it cannot type: a provider callback's reply, whatever the provider expects.
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert all("/v1/callbacks/" in line for line in warnings), result.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_generated_client_sends_checks_and_reads_a_typed_problem(
    generated: ModuleType, make_live_client: ClientFactory
) -> None:
    models = _module(generated, "models")
    start = _module(generated, "api.verifications.start_verification")
    check = _module(generated, "api.verifications.check_verification")
    read = _module(generated, "api.verifications.get_verification")
    async with make_live_client() as http:
        client = generated.AuthenticatedClient(base_url=str(http.base_url), token=API_KEY)
        async with client:
            sent = await start.asyncio_detailed(
                client=client, body=models.StartVerification(to="+8613800138000")
            )
            assert sent.status_code == 201
            view = sent.parsed
            assert isinstance(view, models.VerificationView)
            assert view.status == models.VerificationViewStatus.PENDING
            assert view.message.status == models.MessageViewStatus.SENT

            right = await latest_code(http, "+8613800138000")
            wrong = f"{(int(right) + 1) % 10 ** len(right):0{len(right)}d}"
            result = await check.asyncio(
                client=client, body=models.CheckVerification(code=wrong, id=view.id)
            )
            assert isinstance(result, models.CheckResult)
            assert (result.valid, result.status) == (False, models.CheckResultStatus.PENDING)
            assert result.attempts_remaining == 4

            missing = await read.asyncio_detailed(client=client, verification_id="ver_" + "0" * 26)
            assert missing.status_code == 404
            problem = missing.parsed
            assert isinstance(problem, models.Problem)
            assert problem.code == models.ErrorCode.VERIFICATION_NOT_FOUND
            assert problem.status == 404
            assert problem.type_ == "urn:otpgate:problem:verification_not_found"
