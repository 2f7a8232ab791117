"""Test modules share helpers through a conftest or tests/helpers.py, never by importing
another test module: a helper then lives where its users can find it, and changing one test
module can't break another's imports."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT


def imported_modules(path: Path, root: Path = ROOT) -> list[str]:
    """Every module and name `path` imports, relative imports resolved against its package."""
    package = path.relative_to(root).parent.parts
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return names


def imports_of_test_modules(path: Path, root: Path = ROOT) -> list[str]:
    return [
        name
        for name in imported_modules(path, root)
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
    ]


def test_no_test_module_imports_another():
    found = {
        str(path.relative_to(ROOT)): imports_of_test_modules(path)
        for path in sorted((ROOT / "tests").rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_the_check_sees_every_spelling_of_such_an_import(tmp_path):
    module = tmp_path / "tests" / "kis" / "test_example.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import json\n"
        "from .test_frames import x\n"
        "from . import test_limiter\n"
        "from tests.kis.test_tokens import y\n"
        "import tests.kissim.test_quotes\n"
        "from tests.helpers import free_port\n"
    )
    assert imports_of_test_modules(module, tmp_path) == [
        "tests.kis.test_frames",
        "tests.kis.test_limiter",
        "tests.kis.test_tokens",
        "tests.kissim.test_quotes",
    ]
