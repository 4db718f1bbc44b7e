"""The product package stands apart from its test harness: nothing in medallion_platform imports the tests
or fakesnow (a dev dependency), not even inside a function, and its modules import one another without
a cycle."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "medallion_platform"
FORBIDDEN = ("medallion_platform_tests", "fakesnow")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module an import statement of the file names, wherever the statement stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODULES = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_product_module_imports_the_harness_or_fakesnow():
    offending = {module: sorted(name for name in names if name.split(".")[0] in FORBIDDEN)
                 for module, names in MODULES.items()}
    assert {module: names for module, names in offending.items() if names} == {}


def test_the_product_modules_import_one_another_without_a_cycle():
    graph = {module: {name for name in names if name in MODULES and name != module} for module, names in MODULES.items()}
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []
