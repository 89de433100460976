"""The import graph of twinline follows the house plan: imports point down, and no cycles.

Every module under ``src/twinline`` is parsed with :mod:`ast`; every ``import x`` and
``from x import y`` counts, at module level or inside a function (a function-level import
hides a cycle from Python, not from the design), relative imports resolved.

*What an import points at.* ``from a.b import c`` points at the module ``a.b.c`` when that is
a module, else at ``a.b`` (its ``__init__`` when ``a.b`` is a package); ``import a.b.c``
points at ``a.b.c``. The parent packages that Python initialises on the way are not counted:
a module that imports a sibling does not thereby depend on its package's ``__init__``, and
an ``__init__`` that re-exports its submodules is then no cycle. An ``__init__`` that a
submodule imports by name *and* that imports that submodule back is a cycle.

*Layers*, low to high (ARCHITECTURE.md): spec, materials, process, structure, cell, chain,
learn, twin = factory, report, api = cli. ``twinline/__init__.py`` and ``twinline.atomic``
are bottom utilities any layer may import; the top-level ``twinline/chain.py`` and
``twinline/uncertainty.py`` belong to ``chain``; ``twinline.outdir`` (output folders) sits
with ``spec``. An import from a layer to a higher one is a
violation; equal layers (twin/factory, api/cli) may import each other, but no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "twinline"

#: Layer rank of each top-level part of the package (bottom utilities: -1).
RANK: dict[str, int] = {
    "": -1, "atomic": -1,
    "spec": 0, "outdir": 0, "materials": 1, "process": 2, "structure": 3, "cell": 4,
    "chain": 5, "uncertainty": 5, "learn": 6, "twin": 7, "factory": 7,
    "report": 8, "api": 9, "cli": 9, "__main__": 9,
}

#: Violations known today. An entry that no longer occurs fails the test, so the set only
#: shrinks. (On the tree before issue 12 the test also found the learn.study <->
#: report.study_report cycle with its upward import, and learn.campaign <->
#: learn.recipe_points; both are fixed.)
KNOWN: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One import statement from module ``src`` of module ``dst`` (``where``: file:line)."""

    src: str
    dst: str
    where: str


def modules(root: Path, package: str = "twinline") -> dict[str, Path]:
    """``dotted module name → file`` for every ``.py`` under ``root`` (``__init__`` is the
    package itself)."""
    out: dict[str, Path] = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = f
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The deepest known module that ``name`` names (``a.b.func`` → ``a.b``)."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in known:
            return cand
        parts.pop()
    return None


def imports(root: Path, package: str = "twinline") -> list[Edge]:
    """Every import between modules of ``package`` under ``root`` (self-imports dropped)."""
    known = modules(root, package)
    edges: list[Edge] = []
    for mod, path in known.items():
        is_pkg = path.name == "__init__.py"
        here = mod.split(".") if is_pkg else mod.split(".")[:-1]  # the module's package
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" for a in node.names]
            for t in targets:
                if t.split(".")[0] != package:
                    continue
                dst = _resolve(t, known)
                if dst is not None and dst != mod:
                    rel = path.relative_to(root.parent).as_posix()
                    edges.append(Edge(mod, dst, f"{rel}:{node.lineno}"))
    return edges


def layer(module: str) -> str:
    """The layer a module belongs to (``""`` for the package ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward(edges: list[Edge]) -> Iterator[tuple[str, Edge]]:
    """``(key, edge)`` for every import from a layer to a higher one."""
    for e in edges:
        a, b = layer(e.src), layer(e.dst)
        if RANK.get(b, 99) > RANK.get(a, 99):
            yield f"upward: {e.src} -> {e.dst}", e


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.src, set()).add(e.dst)
        graph.setdefault(e.dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~100)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def findings(root: Path, package: str = "twinline") -> dict[str, list[str]]:
    """``key → [file:line ...]`` of every layer violation and every cycle."""
    edges = imports(root, package)
    out: dict[str, list[str]] = {}
    for key, e in upward(edges):
        out.setdefault(key, []).append(e.where)
    for comp in cycles(edges):
        members = set(comp)
        inside = [f"{e.src} -> {e.dst} ({e.where})" for e in edges
                  if e.src in members and e.dst in members]
        out[f"cycle: {', '.join(comp)}"] = inside
    return out


def _explain(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{k}\n    " + "\n    ".join(v) for k, v in sorted(found.items()))


def test_imports_point_down_and_form_no_cycle():
    found = findings(SRC)
    new = {k: v for k, v in found.items() if k not in KNOWN}
    gone = sorted(KNOWN - set(found))
    assert not new, "import-graph violations (fix them; see ARCHITECTURE.md):\n" + _explain(new)
    assert not gone, f"fixed, remove from KNOWN in {Path(__file__).name}: {gone}"


def test_the_graph_sees_every_module_and_its_imports():
    edges = imports(SRC)
    mods = modules(SRC)
    assert "twinline.spec.recipe" in mods and "twinline.chain" in mods
    assert Edge("twinline.spec.recipe", "twinline.spec.quantity",
                "twinline/spec/recipe.py:21") in edges
    assert all(layer(m) in RANK for m in mods), sorted({layer(m) for m in mods} - set(RANK))


# ---------------------------------------------------------------- the checker on toy packages
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "twinline"
    for rel, text in {"__init__.py": "", **files}.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        for parent in f.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        f.write_text(text)
    return root


def test_checker_finds_a_function_level_upward_import(tmp_path):
    root = _package(tmp_path, {
        "spec/a.py": "def f():\n    from twinline.chain import run\n",
        "chain.py": "from twinline.spec import a\nrun = 1\n",
    })
    found = findings(root)
    assert found.keys() == {"upward: twinline.spec.a -> twinline.chain",
                            "cycle: twinline.chain, twinline.spec.a"}
    assert found["upward: twinline.spec.a -> twinline.chain"] == ["twinline/spec/a.py:2"]


def test_checker_resolves_relative_imports_and_finds_a_cycle(tmp_path):
    root = _package(tmp_path, {
        "process/one.py": "from . import two\n",
        "process/two.py": "def g():\n    from .one import x\n",
        "process/three.py": "from ..spec.units import Q_\nfrom .. import atomic\n",
        "spec/units.py": "Q_ = 1\n",
        "atomic.py": "",
    })
    found = findings(root)
    assert list(found) == ["cycle: twinline.process.one, twinline.process.two"]
    edges = imports(root)
    assert Edge("twinline.process.three", "twinline.spec.units",
                "twinline/process/three.py:1") in edges
    assert Edge("twinline.process.three", "twinline.atomic",
                "twinline/process/three.py:2") in edges


@pytest.mark.parametrize(("init", "cycle"), [
    ("from twinline.learn.b import B\n", False),   # __init__ re-exports, b imports a sibling
    ("from twinline.learn.a import A\n", True),    # a imports the __init__, which imports a
])
def test_checker_package_init_counts_only_when_named(tmp_path, init, cycle):
    root = _package(tmp_path, {
        "learn/__init__.py": init,
        "learn/a.py": "from twinline.learn import b\nfrom twinline.learn import helper\nA = 1\n",
        "learn/b.py": "B = 1\n",
    })
    (root / "learn" / "__init__.py").write_text(init + "helper = 1\n")
    keys = list(findings(root))
    assert keys == (["cycle: twinline.learn, twinline.learn.a"] if cycle else [])


def test_bottom_utilities_and_equal_layers(tmp_path):
    root = _package(tmp_path, {
        "atomic.py": "",
        "spec/x.py": "import twinline\nfrom twinline.atomic import write\n",
        "api/x.py": "from twinline.cli import y\n",
        "cli/y.py": "from twinline.report import z\n",
        "report/z.py": "",
        "twin/t.py": "from twinline.factory import f\n",
        "factory/f.py": "",
    })
    assert findings(root) == {}
