"""The ``otpgate`` command as a user runs it: serve with the embedded Redis, keys, openapi."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from app.store.embedded import free_port

ROOT = Path(__file__).parent.parent


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
    env.update(
        OTPGATE_DATA_DIR=str(data_dir),
        OTPGATE_ARGON2_TIME_COST="1",
        OTPGATE_ARGON2_MEMORY_COST="256",
        **extra,
    )
    return env


def _otpgate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int, data_dir: Path) -> None:
        self.process, self.port, self.data_dir = process, port, data_dir
        self.base = f"http://127.0.0.1:{port}"

    @property
    def redis_url(self) -> str:
        return (self.data_dir / "redis.url").read_text().strip()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Served:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    return Served(process, port, tmp_path)
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("otpgate serve did not answer /healthz")

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
    # A killed server leaves its embedded Redis running (a restart reuses it): stop it.
    url_file = tmp_path / "redis.url"
    if url_file.exists():
        with (
            contextlib.suppress(redis.RedisError),
            redis.Redis.from_url(
                url_file.read_text().strip(), socket_connect_timeout=0.5
            ) as client,
        ):
            client.shutdown(nosave=True)


def _stop(served: Served, sig: int) -> str:
    served.process.send_signal(sig)
    output, _ = served.process.communicate(timeout=30)
    return output


def _redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_embedded_redis_prints_a_key_and_stops_both(serve: object, sig: int) -> None:
    served = serve()  # type: ignore[operator]
    url = served.redis_url
    assert _redis_answers(url)
    key = (served.data_dir / "dev-api-key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    sent = httpx.post(
        f"{served.base}/v1/verifications", json={"to": "+8613800138000"}, headers=headers
    )
    assert sent.status_code == 201
    page = httpx.get(f"{served.base}/dev/outbox", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "+8613800138000" in page.text

    output = _stop(served, sig)
    assert served.process.returncode in {0, 130, 143, -sig}
    assert f"API key:  {key}" in output
    assert "/dev/outbox" in output
    assert not _redis_answers(url), "the embedded Redis outlived the service"
    assert not (served.data_dir / "redis.url").exists()


def test_data_survives_a_restart_and_the_key_is_reused(serve: object) -> None:
    served = serve()  # type: ignore[operator]
    key = (served.data_dir / "dev-api-key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    sent = httpx.post(
        f"{served.base}/v1/verifications", json={"to": "+8613800138000"}, headers=headers
    ).json()
    _stop(served, signal.SIGTERM)

    again = serve()  # type: ignore[operator]
    assert (again.data_dir / "dev-api-key").read_text().strip() == key
    shown = httpx.get(f"{again.base}/v1/verifications/{sent['id']}", headers=headers)
    assert shown.status_code == 200 and shown.json()["status"] == "pending"
    _stop(again, signal.SIGTERM)


def test_keys_create_list_revoke_with_the_embedded_redis(serve: object, tmp_path: Path) -> None:
    served = serve()  # type: ignore[operator]
    env = _env(tmp_path)
    created = _otpgate(
        "keys", "create", "--app", "shop", "--scopes", "verify,admin", "--name", "checkout", env=env
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.split()[0]
    key_id = created.stdout.split("(id ")[1].split(",")[0]
    listed = _otpgate("keys", "list", env=env).stdout
    assert key_id in listed and "app=shop" in listed and key not in listed

    response = httpx.post(
        f"{served.base}/v1/verifications",
        json={"to": "+8613800138000"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201

    assert _otpgate("keys", "revoke", key_id, env=env).returncode == 0
    assert _otpgate("keys", "revoke", key_id, env=env).returncode == 1
    response = httpx.post(
        f"{served.base}/v1/verifications",
        json={"to": "+8613800138001"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 401
    _stop(served, signal.SIGTERM)


def test_prod_without_pepper_refuses_to_start(tmp_path: Path) -> None:
    result = _otpgate("serve", env=_env(tmp_path, OTPGATE_ENV="prod"))
    assert result.returncode == 2
    assert "OTPGATE_PEPPER" in result.stderr
    assert not (tmp_path / "redis.url").exists()


def test_openapi_command_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = _otpgate("openapi", "--output", str(target), env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (ROOT / "openapi.json").read_text()


def test_two_workers_share_one_metrics_view(serve: object) -> None:
    served = serve("--workers", "2")  # type: ignore[operator]
    key = (served.data_dir / "dev-api-key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    for to in ("+8613800138000", "+8613900139000", "+8613700137000"):
        assert (
            httpx.post(
                f"{served.base}/v1/verifications", json={"to": to}, headers=headers
            ).status_code
            == 201
        )
    # whichever worker answers the scrape, it sums every worker's counters
    for _ in range(3):
        text = httpx.get(f"{served.base}/metrics").text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("otpgate_sms_attempts_total{") and 'outcome="accepted"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) == 3
    _stop(served, signal.SIGTERM)
    assert (served.data_dir / "prometheus").is_dir()


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    from app import __version__

    result = _otpgate("--version", env=_env(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip() == f"otpgate {__version__}"


def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    """One request over a plain socket (httpx refuses to send what these tests send).

    Sent in pieces, stopping as soon as the server answers: a server that refuses a head
    closes the connection, and bytes still arriving then would reset it.
    """
    import select
    import socket

    data = head + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for start in range(0, len(data), 8192):
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered already
            try:
                sock.sendall(data[start : start + 8192])
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_the_server_bounds_request_heads_before_the_app_sees_them(serve: object) -> None:
    from app.cli import HEADER_BUFFER_BYTES

    served = serve()  # type: ignore[operator]
    start = b"GET /healthz HTTP/1.1\r\nHost: otpgate\r\nConnection: close\r\n"

    def fields(count: int) -> bytes:
        return b"".join(b"X-Field-%d: v\r\n" % n for n in range(count))

    assert _status(_raw(served.port, start + fields(98) + b"\r\n")) == 200  # 100 in all
    assert _status(_raw(served.port, start + fields(99) + b"\r\n")) == 431
    assert _status(_raw(served.port, start + fields(10_000) + b"\r\n")) == 431
    assert _status(_raw(served.port, start + b"X-Big: " + b"a" * 8000 + b"\r\n\r\n")) == 200
    big = b"X-Big: " + b"a" * HEADER_BUFFER_BYTES + b"\r\n\r\n"
    assert _status(_raw(served.port, start + big)) == 431
    assert _status(_raw(served.port, start + b"X-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")) == 431
    assert _status(_raw(served.port, start + b"X-Nul: a\x00b\r\n\r\n")) == 400
    # The bound is on the head only: a provider's batch of reports still reaches the app.
    body = b"[" + b"{}," * 600_000 + b"{}]"
    head = (
        b"POST /v1/callbacks/aliyun/not-the-token HTTP/1.1\r\nHost: otpgate\r\n"
        b"Connection: close\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    answer = _raw(served.port, head, body)
    assert _status(answer) == 404 and b"application/problem+json" in answer
    _stop(served, signal.SIGTERM)


@pytest.mark.parametrize(
    ("args", "extra", "expected"),
    [
        (
            ["keys", "create", "--scopes", "bogus"],
            {},
            "unknown scope bogus; known: verify, read, admin, operator",
        ),
        (["keys", "create", "--scopes", ""], {}, "unknown scope (none)"),
        (["serve"], {"OTPGATE_CODE_TLL": "60"}, "did you mean OTPGATE_CODE_TTL?"),
        (["check-config"], {"OTPGATE_CODE_TTL": "soon"}, "configuration error"),
    ],
)
def test_usage_and_configuration_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], extra: dict[str, str], expected: str
) -> None:
    result = _otpgate(*args, env=_env(tmp_path, **extra))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "redis.url").exists()  # nothing was started


def test_keys_against_a_redis_that_does_not_answer_is_one_line_and_exit_1(
    tmp_path: Path,
) -> None:
    from tests.stubs.loopback import closed_port_url

    url = closed_port_url().replace("http://", "redis://") + "/0"
    result = _otpgate("keys", "list", env=_env(tmp_path, OTPGATE_REDIS_URL=url))
    assert result.returncode == 1
    assert result.stderr.strip() == "otpgate: Redis did not answer: ConnectionError"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_worker_outlives_a_killed_server(serve: object, workers: str) -> None:
    served = serve("--workers", workers)  # type: ignore[operator]
    # the workers, and nothing else the server started (the embedded Redis stays)
    children = [
        child
        for child in psutil.Process(served.process.pid).children()
        if "redis-server" not in " ".join(child.cmdline())
    ]
    assert len(children) == int(workers)
    served.process.kill()  # SIGKILL: the server gets no chance to stop its workers
    served.process.wait(10)
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:  # so that a failure leaves no process behind
        child.kill()
    assert alive == [], "a worker outlived its server"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{served.base}/healthz", timeout=0.5)


def test_apps_create_show_update_disable_enable(
    redis: object, redis_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, OTPGATE_REDIS_URL=redis_url)
    made = _otpgate("apps", "create", "shop", "--set", "code_length=8", env=env)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {
        "name": "shop", "disabled": False, "settings": {"code_length": 8},
    }  # fmt: skip
    refused = _otpgate("apps", "update", "shop", "--set", "code_length=3", env=env)
    assert refused.returncode == 2 and "code_length" in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line, no traceback
    updated = _otpgate("apps", "update", "shop", "--set", "code_length=null", env=env)
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["settings"] == {}
    assert json.loads(_otpgate("apps", "disable", "shop", env=env).stdout)["disabled"] is True
    assert _otpgate("apps", "list", env=env).stdout.split("\n")[:2] == [
        "default",
        "shop (disabled)",
    ]
    assert json.loads(_otpgate("apps", "enable", "shop", env=env).stdout)["disabled"] is False
    assert _otpgate("apps", "show", "nowhere", env=env).returncode == 1
    assert _otpgate("apps", "create", "shop", env=env).returncode == 1


def test_keys_work_on_a_cluster_url(empty_cluster: object, tmp_path: Path) -> None:
    env = _env(tmp_path, OTPGATE_REDIS_URL=empty_cluster.url)  # type: ignore[attr-defined]
    created = _otpgate("keys", "create", "--app", "shop", env=env)
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split("(id ")[1].split(",")[0]
    assert key_id in _otpgate("keys", "list", env=env).stdout
