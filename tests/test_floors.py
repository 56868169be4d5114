"""The floors of ../shared/DESIGN.md, kept by a test: imports point down, and nothing circles.

The import graph of ``src/rnnlab`` is read with :mod:`ast`, imports inside functions and
methods included (a lazy import is still a dependency). A module's floor is its first name under
``rnnlab`` (``rnnlab.train.trainer`` lives on ``train``). An import may stay on its floor or go
down; one that goes up, or a cycle of modules, fails the test with the modules and lines named.
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "rnnlab"

# Top first, as DESIGN.md draws them; a floor may import the floors below it. The package's
# own __init__ (the table of contents) sits on top: nothing inside imports ``rnnlab`` itself.
FLOORS = [
    ["__init__"],
    ["cli"],
    ["bench", "experiments"],
    ["train"],
    ["rl"],
    ["evaluation"],
    ["analysis"],
    ["report"],
    ["models"],
    ["tasks"],
    ["losses"],
    ["layers"],
    ["cells"],
    ["kernels"],
    ["reference"],
    ["catalog", "errors", "memory"],  # import nothing of rnnlab
]
RANK = {name: rank for rank, names in enumerate(FLOORS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def floor(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(module: str) -> list[tuple[str, int]]:
    """The rnnlab modules ``module`` imports, anywhere in its file, with the line."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from rnnlab.kernels import elman`` imports the module rnnlab.kernels.elman.
                candidate = f"{base}.{alias.name}"
                found.append((candidate if candidate in MODULES else base, node.lineno))
    return [(name, line) for name, line in found if name in MODULES and name != module]


GRAPH = {module: imports(module) for module in MODULES}


def test_every_module_has_a_floor():
    unplaced = sorted({floor(m) for m in MODULES} - set(RANK))
    assert not unplaced, f"modules outside every floor of DESIGN.md: {unplaced}"


def test_imports_point_down_the_floors():
    upward = sorted(
        {
            f"{module} (floor {floor(module)}) imports {target} ({floor(target)}), line {line}"
            for module, targets in GRAPH.items()
            for target, line in targets
            if floor(module) in RANK and RANK.get(floor(target), -1) < RANK[floor(module)]
        }
    )
    assert not upward, "imports that point up the floors:\n" + "\n".join(upward)


def cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert not cycles(), "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles())


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import rnnlab.layers\n", ["rnnlab.layers"]),
        ("def f():\n    from rnnlab.kernels import elman\n", ["rnnlab.kernels.elman"]),
        ("from rnnlab.cells.gru import gru_step\n", ["rnnlab.cells.gru"]),
        ("from . import dispatch\n", ["rnnlab.kernels.dispatch"]),
    ],
)
def test_the_reader_finds_imports_inside_functions_and_relative_ones(
    monkeypatch, tmp_path, source, expected
):
    module = tmp_path / "probe.py"
    module.write_text(source)
    monkeypatch.setitem(MODULES, "rnnlab.kernels.probe", module)
    assert [name for name, _ in imports("rnnlab.kernels.probe")] == expected
