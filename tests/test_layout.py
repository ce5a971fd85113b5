"""Where tests live (issue 19): the suite's layout, checked from the source.

Rule 1: a unit test module mirrors the module it tests. tests/unit/<path>/test_<X>.py
        tests a module of the package <path> mirrors: clients/<rest> and bench/<rest>
        mirror those packages, any other <path> mirrors service/<path> (tests/unit/
        itself mirrors service/). <X> names a module of that package, or starts
        with one followed by `_<aspect>` (test_store_plans.py tests store.py).
Rule 2: every folder under tests/ that holds Python is a package (has __init__.py),
        as the tests import one another's helpers by package (tests.fakes...).
Rule 3: no module under tests/ imports a test module (test_*.py): what tests
        share lives in conftest.py files, tests/fakes/ or a helper module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
UNIT = TESTS / "unit"
# Top-level packages a tests/unit/ folder may mirror by its own name; any other
# folder mirrors a subpackage of service/.
OWN_ROOTS = ("clients", "bench")


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def mirrored_package(folder: Path) -> Path:
    """The source package a folder under tests/unit/ mirrors."""
    parts = folder.relative_to(UNIT).parts
    if parts and parts[0] in OWN_ROOTS:
        return ROOT.joinpath(*parts)
    return ROOT.joinpath("service", *parts)


def module_under_test(test_file: Path) -> Path | None:
    """The module test_<X>.py (or test_<module>_<aspect>.py) names, if it exists."""
    package = mirrored_package(test_file.parent)
    words = test_file.stem.removeprefix("test_").split("_")
    for end in range(len(words), 0, -1):
        candidate = package / ("_".join(words[:end]) + ".py")
        if candidate.is_file():
            return candidate
    return None


def test_unit_tests_mirror_the_modules_they_test() -> None:
    misplaced = []
    for test_file in sorted(UNIT.rglob("test_*.py")):
        package = mirrored_package(test_file.parent)
        if not (package / "__init__.py").is_file():
            misplaced.append(
                f"{test_file.relative_to(ROOT)}: no package {package.relative_to(ROOT)}"
            )
        elif module_under_test(test_file) is None:
            where = package.relative_to(ROOT)
            misplaced.append(f"{test_file.relative_to(ROOT)}: names no module of {where}")
    assert misplaced == [], "\n".join(misplaced)


def test_every_test_folder_is_a_package() -> None:
    folders = {p.parent for p in _python_files()}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == []


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, `from a.b import c` counted as a.b and a.b.c."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_the_tests_imports_a_test_module() -> None:
    offenders = []
    for path in _python_files():
        for name in sorted(_imported_modules(path)):
            if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == [], "\n".join(offenders)


def test_the_rules_see_the_suite() -> None:
    # Guards the checks above against passing vacuously (a wrong ROOT, an empty glob).
    assert len(list(UNIT.rglob("test_*.py"))) > 30
    assert module_under_test(UNIT / "core" / "test_rules.py") == ROOT / "service/core/rules.py"
    assert module_under_test(UNIT / "store/sqlite/test_store_plans.py") == (
        ROOT / "service/store/sqlite/store.py"
    )
    assert module_under_test(UNIT / "clients" / "test_words.py") == ROOT / "clients/words.py"
    assert module_under_test(UNIT / "core" / "test_nothing_here.py") is None
