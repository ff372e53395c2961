"""media_server reads as a tree: no import cycle, children never import their parent, test aids stay aside.

Every import counts, including those under `if TYPE_CHECKING:` and inside functions: a
cycle hidden from the interpreter is still a cycle for the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "media_server"

# (child, parent): the child talks to its parent through a protocol it declares itself.
CHILD_PARENT = [
    ("media_server.room", "media_server.node"),
    ("media_server.participant", "media_server.room"),
    ("media_server.publication", "media_server.participant"),
    ("media_server.subscription", "media_server.participant"),
    ("media_server.subscription", "media_server.publication"),
    ("media_server.forwarder", "media_server.subscription"),
    ("media_server.forwarder", "media_server.publication"),
    ("media_server.quality.monitor", "media_server.node"),
    ("media_server.quality.monitor", "media_server.room"),
    ("media_server.quality.monitor", "media_server.participant"),
    ("media_server.recording.recorder", "media_server.room"),
    ("media_server.metrics", "media_server.node"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in (ROOT / PACKAGE).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports (a `from pkg import mod` names the module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name):], name]
        if name in done:
            return None
        for target in sorted(graph[name]):
            cycle = visit(target, [*trail, name])
            if cycle is not None:
                return cycle
        done.add(name)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert {"media_server.node", "media_server.room", "media_server.participant"} <= set(graph)
    assert "media_server.room" in graph["media_server.node"], "the scan must find ordinary imports"


def test_no_import_cycle_inside_media_server() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_child_imports_its_parent() -> None:
    graph = import_graph()
    offenders = [f"{child} imports {parent}" for child, parent in CHILD_PARENT if parent in graph[child]]
    assert offenders == []


def test_only_testing_imports_the_test_aids() -> None:
    graph = import_graph()
    aids = {name for name in graph if name == f"{PACKAGE}.testing" or name.startswith(f"{PACKAGE}.testing.")}
    offenders = [
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name not in aids
        for target in sorted(targets & aids)
    ]
    assert aids, "media_server.testing is where the test aids live"
    assert offenders == []
