"""The directions of ARCHITECTURE §11: web may import the others; workers only models; media_server and
models nothing of the project's other packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("web", "models", "media_server", "workers")
ALLOWED = {
    "web": {"models", "media_server", "workers"},
    "workers": {"models"},
    "media_server": set(),
    "models": set(),
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    files = list((ROOT / package).rglob("*.py"))
    assert len(files) >= 5, f"{package} looks empty: the check would pass vacuously"
    offenders = {
        f"{path.relative_to(ROOT)} imports {other}"
        for path in files
        for other in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert offenders == set()
