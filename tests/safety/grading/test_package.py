"""The safety grading package as a whole: its modules import only the standard library and each
other, never Django (the import-linter contract in pyproject.toml says the same for imports made
through other modules)."""

import ast
import sys
from pathlib import Path

from safety import grading

GRADING_SOURCES = {
    path.name: path.read_text(encoding="utf-8")
    for path in sorted(Path(grading.__file__).parent.glob("*.py"))
}


def _imported_modules(source: str) -> set[str]:
    """Return the full name of every module imported anywhere in ``source``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_grading_modules_import_only_the_standard_library_and_each_other() -> None:
    assert set(GRADING_SOURCES) >= {"crs.py", "icans.py", "steroids.py"}
    for name, source in GRADING_SOURCES.items():
        for module in _imported_modules(source):
            top = module.split(".")[0]
            assert (
                top in sys.stdlib_module_names
                or top == "__future__"
                or (module.startswith("safety.grading"))
            ), (name, module)
