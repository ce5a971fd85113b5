"""Module docstrings keep the house form (DESIGN.md): a summary line, then numbered rules.

Rule 1: every module under service/ and clients/ opens with a docstring, but for
        generated code (*_pb2*) and empty __init__.py files.
Rule 2: its first line is the summary of what the module owns: text right after
        the opening quotes, then a blank line (or nothing: the summary is one line).
Rule 3: it holds numbered rules (at least a line starting `Rule 1:`) and no prose
        headings of the older form ("What it owns:", "The rules it keeps:").
Rule 4: read from the source with ast, nothing imported; every offender is listed in
        one failure, with what is wrong with it.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("service", "clients")
RULE_LINE = re.compile(r"^Rule 1: \S", re.MULTILINE)
PROSE_HEADING = re.compile(r"What it owns|rules? it keeps", re.IGNORECASE)


def _modules() -> list[Path]:
    found = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "_pb2" in path.name or "__pycache__" in path.parts:
                continue
            if path.name == "__init__.py" and not path.read_text().strip():
                continue
            found.append(path)
    return found


def problem(source: str) -> str | None:
    """What keeps a module's source from the form, or None when it keeps it."""
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    if docstring is None:
        return "no module docstring"
    lines = docstring.split("\n")
    if not lines[0].strip() or lines[0] != lines[0].lstrip():
        return "the summary does not start on the docstring's first line"
    if len(lines) > 1 and lines[1].strip():
        return "the summary is more than one line (no blank line after the first)"
    if not RULE_LINE.search(docstring):
        return "no numbered rule (a line starting `Rule 1:`)"
    heading = PROSE_HEADING.search(docstring)
    if heading:
        return f"prose heading {heading.group(0)!r} instead of numbered rules"
    return None


@functools.cache
def _offenders() -> dict[str, str]:
    """Every module out of form, by its path from the root (read once per run)."""
    offenders = {}
    for path in _modules():
        found = problem(path.read_text())
        if found is not None:
            offenders[path.relative_to(ROOT).as_posix()] = found
    return offenders


def test_every_module_opens_with_a_summary_and_numbered_rules() -> None:
    offenders = _offenders()
    if offenders:
        listing = "\n".join(f"  {name}: {found}" for name, found in sorted(offenders.items()))
        pytest.fail(f"{len(offenders)} module docstring(s) out of form:\n{listing}")


def test_the_check_tells_the_form_from_a_story() -> None:
    kept = '"""One thing.\n\nRule 1: a rule;\n        its second line.\nRule 2: another.\n"""\n'
    assert problem(kept) is None
    assert problem("import os\n") == "no module docstring"
    assert problem('"""\nOne thing.\n\nRule 1: a rule.\n"""\n') is not None
    assert problem('"""One thing\nwrapped.\n\nRule 1: a rule.\n"""\n') is not None
    assert problem('"""One thing.\n\nWhat it owns: this. The rule it keeps: that.\n"""\n') == (
        "no numbered rule (a line starting `Rule 1:`)"
    )
    story = '"""One thing.\n\nWhat it owns: this.\n\nRule 1: a rule.\n"""\n'
    assert problem(story) == "prose heading 'What it owns' instead of numbered rules"
