"""The plan of the house (README, "How it works") holds in the code: each part imports
only the parts below it, the leaves import no service, store, adapter or Redis code, and
no module or function outgrows the size that keeps it one idea."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).parent.parent / "app"

#: A module's part is the first pattern it matches, top to bottom.
PARTS: list[tuple[str, str]] = [
    (
        "leaf",
        r"app\.(errors|phone|emails|channels|ids|sensitive|signatures|sealing|metrics|cores|"
        r"redis_url|sms|logs|tracing|tracing\.spans)",
    ),
    (
        "settings",
        r"app\.settings(_env)?|app\.[a-z_]+\.config|app\.providers\.([a-z_]+\.config|accounts)",
    ),
    # The dashboard is HTML over the same service calls as the admin API: edge, like it.
    (
        "edge",
        r"app\.[a-z_]+\.([a-z]+_)?api|app\.ops(\..*)?|app\.dev(\..*)?|app\.http(\..*)?"
        r"|app\.dashboard(\..*)?",
    ),
    # The exporter is a resource the wiring opens with the others (app/services.py).
    (
        "wiring",
        r"app|app\.__main__|app\.asgi|app\.assembly|app\.cli(_admin)?|app\.services"
        r"|app\.tracing\.exporter",
    ),
    ("store", r"app\.store(\..*)?"),
    ("providers", r"app\.providers(\..*)?"),
    ("abuse", r"app\.abuse(\..*)?"),
    ("delivery", r"app\.delivery(\..*)?"),
    ("apps", r"app\.apps(\..*)?"),
    ("factors", r"app\.factors(\..*)?"),
    ("templates", r"app\.templates(\..*)?"),
    ("verify", r"app\.verify(\..*)?"),
    # A translation of Twilio Verify v2 over the verify, apps and delivery services,
    # below the edge (its routes, app/twilio_verify/*api.py, are edge modules).
    ("twilio_verify", r"app\.twilio_verify(\..*)?"),
]
BELOW = {"leaf", "settings"}
PARTS_BELOW_EDGE = {
    "store", "providers", "abuse", "delivery", "apps", "factors", "templates", "verify",
    "twilio_verify",
}  # fmt: skip
#: part -> the parts it may import (its own is always allowed).
MAY_IMPORT: dict[str, set[str]] = {
    "leaf": {"leaf"},
    "settings": {"leaf"},
    "store": BELOW,
    "providers": BELOW | {"store"},
    "abuse": BELOW | {"store"},
    "apps": BELOW | {"store"},
    "factors": BELOW | {"store"},
    "delivery": BELOW | {"store", "providers"},
    "templates": BELOW | {"store", "providers"},
    "verify": BELOW | {"store", "providers", "abuse", "delivery", "templates"},
    "twilio_verify": BELOW | {"store", "abuse", "delivery", "apps", "verify"},
    "edge": BELOW | PARTS_BELOW_EDGE,
    "wiring": BELOW | {"edge", *PARTS_BELOW_EDGE},
}
#: Libraries a part must not know: the leaves and settings touch no Redis and no HTTP
#: framework, and nothing below the edge knows Litestar.
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "leaf": {"redis", "litestar", "httpx", "limits"},
    "settings": {"redis", "litestar", "httpx"},
    "store": {"litestar", "httpx"},
    "providers": {"litestar"},
    "abuse": {"litestar"},
    "delivery": {"litestar"},
    "templates": {"litestar"},
    "verify": {"litestar"},
    "factors": {"litestar"},
    "twilio_verify": {"litestar"},
}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def part_of(module: str) -> str:
    for part, pattern in PARTS:
        if re.fullmatch(pattern, module):
            return part
    raise AssertionError(f"{module} belongs to no part of the plan")


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, also under TYPE_CHECKING (a type is a dependency)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _own_modules(names: set[str]) -> set[str]:
    return {name for name in names if name in MODULES and name != "app"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_part_imports_only_the_parts_below_it(module: str) -> None:
    part = part_of(module)
    for imported in sorted(_own_modules(imports_of(MODULES[module]))):
        other = part_of(imported)
        assert other == part or other in MAY_IMPORT[part], (
            f"{module} ({part}) imports {imported} ({other})"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_lower_parts_use_no_library_of_the_layers_above(module: str) -> None:
    forbidden = FORBIDDEN_LIBRARIES.get(part_of(module), set())
    libraries = {name.split(".")[0] for name in imports_of(MODULES[module])}
    assert not libraries & forbidden, f"{module} imports {sorted(libraries & forbidden)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module: str) -> None:
    source = MODULES[module].read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{module} is over {MAX_MODULE_LINES}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{module}.{node.name}: {length} lines"


def test_the_plan_covers_every_part_it_names() -> None:
    assert {part_of(module) for module in MODULES} == set(MAY_IMPORT)
