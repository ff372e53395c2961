"""The directions of ARCHITECTURE §11, checked over the source (nothing is imported to run them).

Between packages: web may import the others; workers only models; media_server and models nothing of
the project's other packages. Inside web: only the app factory imports a module that defines routes;
domains import each other one way (payments → bookings → sessions → accounts, realtime knows no domain);
the Razorpay sandbox imports nothing of web but the signature helper; no package has an import cycle;
and web/ itself stays a small shell of at most 14 top-level modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
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
# Application factories: importing one gives you an app to run, not its routes. web.app is the platform's
# (the CLI and the worker runtime start it); the sandbox is a separate app with its own factory.
APP_FACTORIES = frozenset({"web.app", "web.payments.sandbox.app"})
ROUTE_CALLS = frozenset({"add_routes", "add_route", "add_get", "add_post", "add_put", "add_patch", "add_delete",
                         "add_head", "add_view", "add_static"})
SANDBOX = "web.payments.sandbox"
SIGNATURE_HELPER = "web.payments.signatures"
# Inside web, what each domain must never import: lower layers reach higher ones through registration
# (AppKeys filled by create_app), never by importing them.
DOMAINS = ("accounts", "sessions", "live_requests", "bookings", "room", "payments", "realtime", "feedback",
           "resources", "past", "recordings", "recommend", "mentors", "mail")
# What happens after a session (feedback, resources, the Past tabs, recordings) sits above everything else.
AFTER = {"feedback", "resources", "past", "recordings", "recommend"}
# A mentor's public page reads sessions and feedback; nothing imports it but the app factory.
PAGES = {"mentors"}
NEVER = {
    "realtime": set(DOMAINS) - {"realtime"},
    # Email sits just above realtime: every domain may email a user; it reads rows from models only.
    "mail": set(DOMAINS) - {"mail", "realtime"},
    "accounts": {"sessions", "live_requests", "bookings", "room", "payments"} | AFTER | PAGES,
    "sessions": {"live_requests", "bookings", "room", "payments"} | AFTER | PAGES,
    "live_requests": {"bookings", "room", "payments"} | AFTER | PAGES,
    "bookings": {"live_requests", "room", "payments"} | AFTER | PAGES,
    "room": {"live_requests", "payments"} | AFTER | PAGES,
    "payments": {"live_requests", "room"} | AFTER | PAGES,
    "feedback": {"live_requests", "payments", "resources", "past", "recordings", "recommend"} | PAGES,
    "resources": {"live_requests", "payments", "feedback", "past", "recordings", "recommend"} | PAGES,
    "past": {"live_requests", "payments", "recordings", "recommend"} | PAGES,
    "recordings": {"live_requests", "payments", "feedback", "resources", "past", "recommend"} | PAGES,
    # Recommendations read sessions (and their learners and mentors); nothing below reaches back.
    "recommend": {"live_requests", "bookings", "room", "payments", "feedback", "resources", "past", "recordings"}
    | PAGES,
    "mentors": {"live_requests", "payments", "room", "resources", "past", "recordings", "recommend"},
}
MAX_WEB_TOP_LEVEL_MODULES = 14


@dataclass(frozen=True)
class Import:
    target: str  # the imported module, resolved to a file of the project when one exists
    line: int
    module_level: bool  # False inside a function (a lazy import)
    type_only: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(module: str, names: Iterable[str]) -> list[str]:
    # `from web.payments import settlement` imports the module web.payments.settlement.
    found = [f"{module}.{name}" for name in names if is_module(f"{module}.{name}")]
    return found or [module]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(alias.name, child.lineno, module_level, type_only) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for target in _resolve(child.module, (alias.name for alias in child.names)):
                    found.append(Import(target, child.lineno, module_level, type_only))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False, type_only)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, module_level, True)
            else:
                visit(child, module_level, type_only)

    visit(ast.parse(path.read_text()), True, False)
    return found


def project_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    return {item.target.split(".")[0] for item in imports_of(path)} & set(PACKAGES)


def defines_routes(path: Path) -> bool:
    """A RouteTableDef, or routes added to a router: the module is where some URL gets its handler."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "RouteTableDef" or name in ROUTE_CALLS:
                return True
    return False


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "web" and parts[1] in DOMAINS else None


# --- between packages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    files = project_files(package)
    assert len(files) >= 5, f"{package} looks empty: the check would pass vacuously"
    offenders = {
        f"{path.relative_to(ROOT)} imports {other}"
        for path in files
        for other in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert offenders == set()


# --- inside web -----------------------------------------------------------------------------------------


def route_import_offenders(files: Iterable[Path]) -> set[str]:
    routes = {module_name(path) for path in files if defines_routes(path)} - APP_FACTORIES
    return {
        f"{module_name(path)}:{item.line} imports {item.target}, which defines routes"
        for path in files
        if module_name(path) != "web.app"
        for item in imports_of(path)
        if item.target in routes and item.target != module_name(path)
    }


def test_only_the_app_factory_imports_modules_that_define_routes() -> None:
    files = project_files("web")
    route_modules = [path for path in files if defines_routes(path)]
    assert len(route_modules) >= 8, "route modules not found: the check would pass vacuously"
    assert route_import_offenders(files) == set()


def sandbox_offenders(files: Iterable[Path]) -> set[str]:
    return {
        f"{module_name(path)}:{item.line} imports {item.target}"
        for path in files
        if within(module_name(path), SANDBOX)
        for item in imports_of(path)
        if within(item.target, "web") and not within(item.target, SANDBOX) and item.target != SIGNATURE_HELPER
    }


def test_the_sandbox_imports_nothing_of_web_but_the_signature_helper() -> None:
    files = project_files("web")
    assert sum(within(module_name(path), SANDBOX) for path in files) >= 5
    assert sandbox_offenders(files) == set()


def domain_offenders(files: Iterable[Path]) -> set[str]:
    found = set()
    for path in files:
        mine = domain_of(module_name(path))
        if mine is None:
            continue
        for item in imports_of(path):
            theirs = domain_of(item.target)
            if theirs in NEVER.get(mine, set()):
                found.add(f"{module_name(path)}:{item.line} ({mine}) imports {item.target} ({theirs})")
    return found


def test_bookings_never_import_payments() -> None:
    """Refunds on cancel reach payments through the paid-booking flow registered under PAID_BOOKINGS."""
    files = project_files("web")
    assert any(domain_of(module_name(path)) == "bookings" for path in files)
    assert {line for line in domain_offenders(files) if "(bookings) imports" in line and "(payments)" in line} == set()


def test_domains_import_each_other_one_way() -> None:
    assert domain_offenders(project_files("web")) == set()


def import_graph(files: Iterable[Path]) -> dict[str, set[str]]:
    """Module-level imports between the project's own modules; `if TYPE_CHECKING:` ones are not run."""
    graph: dict[str, set[str]] = {}
    for path in files:
        graph[module_name(path)] = {
            item.target for item in imports_of(path)
            if item.module_level and not item.type_only and item.target.split(".")[0] in PACKAGES
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := walk(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)) is not None:
            return cycle
    return None


@pytest.mark.parametrize("package", ["web", "models", "workers"])
def test_no_import_cycle(package: str) -> None:
    graph = import_graph(project_files(package))
    assert len(graph) >= 5
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle or [])


def web_top_level_modules() -> list[str]:
    return sorted(path.name for path in (ROOT / "web").glob("*.py") if path.name != "__init__.py")


def test_web_is_a_small_shell() -> None:
    modules = web_top_level_modules()
    assert len(modules) <= MAX_WEB_TOP_LEVEL_MODULES, modules


# --- the checks catch what they are meant to catch ------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_recording_composition_needs_no_web_server_or_database() -> None:
    """web/recordings/compose/ runs in a worker thread or any process: PyAV, numpy and Pillow only."""
    files = sorted((ROOT / "web" / "recordings" / "compose").glob("*.py"))
    assert len(files) >= 5
    offenders = {
        f"{module_name(path)}:{item.line} imports {item.target}"
        for path in files
        for item in imports_of(path)
        if item.target.split(".")[0] in {"aiohttp", "sqlalchemy", "sqlmodel", "models", "workers", "media_server"}
        or (within(item.target, "web") and not within(item.target, "web.recordings.compose"))
    }
    assert offenders == set()


def test_the_ranking_imports_neither_the_web_framework_nor_the_database() -> None:
    """bench/recsys and the unit tests train and score with web.recommend.ranking alone."""
    files = sorted((ROOT / "web" / "recommend" / "ranking").rglob("*.py"))
    assert len(files) >= 5
    offenders = {
        f"{module_name(path)}:{item.line} imports {item.target}"
        for path in files
        for item in imports_of(path)
        if item.target.split(".")[0] in {"aiohttp", "sqlalchemy", "sqlmodel", "models", "workers"}
        or (within(item.target, "web") and not within(item.target, "web.recommend.ranking"))
    }
    assert offenders == set()
