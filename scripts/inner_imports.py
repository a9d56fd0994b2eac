"""Count the project imports made inside functions (monitor.*, sources.*).

An import inside a function is either a deliberate lazy import (a heavy library kept off the
`--help` path, marked on its line with ``# lazy: <reason>``) or a cycle in hiding. This script
lists the second kind, and with ``--all`` the first kind too.

Usage: python scripts/inner_imports.py [--all] [--max N] [PATH ...]
Exits 1 when more than N (default: no limit) unmarked project imports are found inside functions.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PROJECT = ("monitor", "sources")


def _is_project(module: str | None, level: int) -> bool:
    if level > 0:
        return True
    return module is not None and module.split(".")[0] in PROJECT


def inner_imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Yield (line, imported module, marked lazy) for each project import inside a function."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if _is_project(alias.name, 0)]
            elif isinstance(node, ast.ImportFrom) and _is_project(node.module, node.level):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            marked = "# lazy:" in lines[node.lineno - 1]
            for name in names:
                yield node.lineno, name, marked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=list(PROJECT))
    parser.add_argument("--all", action="store_true", help="also list the marked lazy imports")
    parser.add_argument("--max", type=int, default=None, help="fail above this many unmarked")
    args = parser.parse_args(argv)
    unmarked = marked = 0
    seen: set[tuple[Path, int, str]] = set()
    for root in args.paths:
        for path in sorted(Path(root).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, name, lazy in inner_imports(path):
                if (path, line, name) in seen:  # nested functions are walked twice
                    continue
                seen.add((path, line, name))
                if lazy:
                    marked += 1
                else:
                    unmarked += 1
                if args.all or not lazy:
                    print(f"{path}:{line}: {name}{'  (lazy)' if lazy else ''}")
    print(f"project imports inside functions: {unmarked} unmarked, {marked} marked lazy")
    if args.max is not None and unmarked > args.max:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
