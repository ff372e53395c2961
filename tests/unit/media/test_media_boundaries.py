"""media_server imports nothing from web, models or workers (ARCHITECTURE.md section 11)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "media_server"
FORBIDDEN = ("web", "models", "workers")


def test_media_server_imports_no_other_part() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert len(list(ROOT.rglob("*.py"))) > 10
