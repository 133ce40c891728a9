"""The rooms of ARCHITECTURE.md hold: each import rule fails here the day it is broken."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ("citizen", "kiosk_api", "officer", "reports", "api")
#: What a request-bound service still reads from Flask, and why (ARCHITECTURE.md, "Left").
#: A new entry here is a new exception to argue for in review, not a way round the test.
REQUEST_BOUND = {
    # The unit tree is cached per request on flask.g; the audit log notes the caller's address.
    ("survey_app.services.accounts", "flask", "g"),
    ("survey_app.services.accounts", "flask", "request"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, imported name or None) for every import in ``path``, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                yield module, alias.name


def python_files(*rooms: str) -> list[Path]:
    found = [p for room in rooms for p in sorted((ROOT / room).rglob("*.py"))]
    assert found, f"no Python files in {rooms}: the rooms have moved, update this test"
    return found


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "survey_app" and parts[1] in BLUEPRINTS:
        return parts[1]
    return None


def targets(module: str, name: str | None) -> list[str]:
    """The modules an import may reach: ``from pkg import mod`` reaches ``pkg.mod`` too."""
    return [module] if name is None else [module, f"{module}.{name}"]


def violations(rooms: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in python_files(*rooms):
        for module, name in imports(path):
            for target in targets(module, name):
                if any(target == f or target.startswith(f + ".") for f in forbidden):
                    found.append(f"{path.relative_to(ROOT)} imports {target}")
    return sorted(set(found))


@pytest.mark.parametrize(
    ("rooms", "forbidden"),
    [
        (("analysis",), ("flask", "flask_babel", "sqlalchemy", "survey_app")),
        (("questionnaires",), ("flask", "sqlalchemy", "survey_app", "analysis")),
        (
            ("survey_app/models",),
            ("flask", "survey_app.services", *(f"survey_app.{b}" for b in BLUEPRINTS)),
        ),
        (("survey_app/services",), tuple(f"survey_app.{b}" for b in BLUEPRINTS)),
    ],
    ids=["analysis", "questionnaires", "models", "services"],
)
def test_a_room_imports_only_what_it_may(
    rooms: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    assert violations(rooms, forbidden) == []


def test_no_blueprint_reaches_into_another() -> None:
    """A blueprint uses another blueprint's public names only, never its ``_private`` ones;
    shared logic belongs in services/ instead."""
    found = []
    for blueprint in BLUEPRINTS:
        for path in python_files(f"survey_app/{blueprint}"):
            for module, name in imports(path):
                other = blueprint_of(module)
                if other not in (None, blueprint) and name is not None and name.startswith("_"):
                    found.append(f"{path.relative_to(ROOT)} imports {module}.{name}")
    assert found == []


def test_no_private_name_leaves_its_package() -> None:
    """A ``_private`` name is its package's own (``from ..officer.auth import _private`` in
    reports/ was how one blueprint came to depend on another's internals)."""
    found = []
    for path in python_files("survey_app"):
        package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else ""
        for module, name in imports(path):
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if private and module.startswith("survey_app") and not module.startswith(package):
                found.append(f"{path.relative_to(ROOT)} imports {module}.{name}")
    assert found == []


def test_services_read_no_request() -> None:
    """Services take what they need as arguments: no request, session cookie or ``g``."""
    found = set()
    for path in python_files("survey_app/services"):
        for module, name in imports(path):
            if module == "flask" and name in ("request", "session", "g"):
                found.add((module_name(path), module, name))
    assert found == REQUEST_BOUND


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    # The rules above pass on an empty result: prove the parser finds what it must.
    sample = ROOT / "survey_app" / "services" / "intake.py"
    found = dict(imports(sample))
    assert "survey_app.services.integrity" in found and "survey_app.db" in found
