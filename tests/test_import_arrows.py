"""Import arrows run faces -> core <- adapters, with no package cycle.

The core (service.core) imports nothing of the server but itself and the clock;
adapters (store, carriers, webhooks) never import a face, nor one another
(only the factories that pick one adapter from the settings import several);
the two faces (service.rpc, service.gateway) never import each other; the
Python client (clients/, but for the CLI that also runs the server) never
imports service/ at all. Read from the source with ast, so a lazy import
counts too.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = ("service.rpc", "service.gateway")
ADAPTERS = ("service.store", "service.carriers", "service.webhooks")
# Each adapter package, and the family it belongs to: adapters of one family
# (the two stores) may share their family's helpers (service.store.rows),
# never one another's modules.
ADAPTER_PACKAGES = {
    "service.store.sqlite": "service.store",
    "service.store.postgres": "service.store",
    "service.carriers.simulated": "service.carriers",
    "service.carriers.twilio": "service.carriers",
    "service.webhooks": "service.webhooks",
}
# The factories that pick one adapter of a family from the settings: the only
# modules beside the adapters that import them.
FACTORIES = frozenset({"service.carriers.choose", "service.store.choose"})


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for package in ("service", "clients"):
        for path in (ROOT / package).rglob("*.py"):
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module)
                    names.update(f"{node.module}.{alias.name}" for alias in node.names)
            found[_module(path)] = {n for n in names if n.split(".")[0] in ("service", "clients")}
    return found


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


IMPORTS = _imports()


def test_the_core_imports_only_itself_and_the_clock() -> None:
    bad = {
        (m, n)
        for m, names in IMPORTS.items()
        if _within(m, ("service.core",))
        for n in names
        if not _within(n, ("service.core", "service.clock"))
    }
    assert bad == set()


def test_adapters_never_import_a_face() -> None:
    bad = {
        (m, n)
        for m, names in IMPORTS.items()
        if _within(m, ADAPTERS)
        for n in names
        if _within(n, FACES)
    }
    assert bad == set()


def test_faces_do_not_import_each_other() -> None:
    bad = {
        (m, n)
        for m, names in IMPORTS.items()
        for face in FACES
        if _within(m, (face,))
        for n in names
        if _within(n, FACES) and not _within(n, (face,))
    }
    assert bad == set()


def test_the_client_never_imports_the_server() -> None:
    bad = {
        (m, n)
        for m, names in IMPORTS.items()
        if _within(m, ("clients",)) and m != "clients.cli"
        for n in names
        if _within(n, ("service",))
    }
    assert bad == set()


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = collections.defaultdict(set)
    packages = {".".join(m.split(".")[:2]) for m in IMPORTS}
    for m, names in IMPORTS.items():
        source = ".".join(m.split(".")[:2])
        for n in names:
            matches = [p for p in packages if n == p or n.startswith(p + ".")]
            target = max(matches, key=len) if matches else None
            if target is not None and target != source:
                edges[source].add(target)
    # service.app and service.main wire everything together: they sit on top.
    for top in ("service.app", "service.main", "clients.cli"):
        edges.pop(top, None)
    seen: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1 and not cycle:
                cycle.extend([*path[path.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for start in sorted(edges):
        if start not in seen:
            visit(start, [start])
    assert cycle == []


def _adapter_of(name: str) -> str | None:
    return next((a for a in ADAPTER_PACKAGES if _within(name, (a,))), None)


def test_adapters_never_import_one_another() -> None:
    bad = set()
    for m, names in IMPORTS.items():
        adapter = _adapter_of(m)
        if adapter is None:
            continue
        family = ADAPTER_PACKAGES[adapter]
        for n in names:
            other = _adapter_of(n)
            crosses = other is not None and other != adapter
            foreign = _within(n, tuple(set(ADAPTER_PACKAGES.values()) - {family}))
            if crosses or foreign or n in FACTORIES:
                bad.add((m, n))
    assert bad == set()


def test_only_the_factories_beside_the_adapters_import_them() -> None:
    families = tuple(set(ADAPTER_PACKAGES.values()))
    bad = {
        (m, n)
        for m, names in IMPORTS.items()
        if _within(m, families) and _adapter_of(m) is None and m not in FACTORIES
        for n in names
        if _adapter_of(n) is not None
    }
    assert bad == set()


def test_the_carrier_factory_imports_both_carriers() -> None:
    imported = {_adapter_of(n) for n in IMPORTS["service.carriers.choose"]}
    assert {"service.carriers.simulated", "service.carriers.twilio"} <= imported


def _module_edges() -> dict[str, set[str]]:
    """Module -> modules it imports by name (a `from p import m` of a submodule
    counts as importing p.m, not p), TYPE_CHECKING and lazy imports included."""
    modules = set(IMPORTS)
    edges: dict[str, set[str]] = {}
    for m, names in IMPORTS.items():
        targets: set[str] = set()
        for n in names:
            if n in modules and n != m:
                targets.add(n)
        # `from p import m`: the package p itself is imported only when a
        # name other than a submodule comes from it; IMPORTS holds both p and
        # p.m, so drop p where every name taken from it is a submodule.
        for n in list(targets):
            if not _imports_names_of(m, n):
                targets.discard(n)
        edges[m] = targets
    return edges


def _imports_names_of(module: str, package: str) -> bool:
    """Whether `module` imports `package` itself: plainly, as a submodule of
    its parent, or by taking from it a name that is not a submodule."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name == package for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == package and any(
                f"{package}.{a.name}" not in IMPORTS for a in node.names
            ):
                return True
            if any(f"{node.module}.{a.name}" == package for a in node.names):
                return True  # `from parent import package`, a submodule
    return False


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


@pytest.mark.slow
def test_no_module_imports_another_in_a_circle() -> None:
    assert _cycles(_module_edges()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
