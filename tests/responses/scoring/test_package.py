"""The scoring package as a whole: what its modules import, and the translatable strings it
hands to makemessages.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from responses import scoring

# --------------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------------

#: Every module of the scoring package, by file name.
SCORING_SOURCES = {
    path.name: path.read_text(encoding="utf-8")
    for path in sorted(Path(scoring.__file__).parent.glob("*.py"))
}
#: What a scoring module may import besides the standard library: the package's own modules, and
#: SciPy for the exact interval.
ALLOWED_IMPORTS = {"statistics.py": {"responses", "scipy"}}


def _imported_top_level_modules(source: str) -> set[str]:
    """Return the top-level names of every module imported anywhere in ``source``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _imported_packages(source: str) -> set[str]:
    """Return the package of every ``from responses... import`` in ``source``."""
    return {
        node.module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("responses")
    }


def test_scoring_modules_do_not_import_django() -> None:
    for name, source in SCORING_SOURCES.items():
        assert "django" not in _imported_top_level_modules(source), name


def test_scoring_modules_import_only_the_standard_library_and_each_other() -> None:
    for name, source in SCORING_SOURCES.items():
        allowed = set(sys.stdlib_module_names) | ALLOWED_IMPORTS.get(name, {"responses"})
        imported = _imported_top_level_modules(source)
        assert imported <= allowed, (name, imported - allowed)
        if "responses" in imported:
            assert _imported_packages(source) <= {"responses.scoring"}, name


def _gettext_noop_arguments() -> list[ast.expr]:
    """Return the first argument of every gettext_noop(...) call in the scoring package."""
    return [
        node.args[0]
        for source in SCORING_SOURCES.values()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "gettext_noop"
    ]


def test_every_translatable_string_is_a_literal_that_makemessages_can_extract() -> None:
    arguments = _gettext_noop_arguments()
    assert arguments, "no gettext_noop calls found"
    assert all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in arguments)


def test_translatable_templates_use_only_named_string_placeholders() -> None:
    for arg in _gettext_noop_arguments():
        assert isinstance(arg, ast.Constant)
        without_named = re.sub(r"%\(\w+\)s", "", arg.value)
        assert "%" not in without_named, arg.value
