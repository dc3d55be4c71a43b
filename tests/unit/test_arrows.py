"""The import arrows of the project follow its map (docs/architecture.md, "Contracts and arrows").

The graph is built from the source text alone (nothing is imported): every `.py` file of the
folders that `[tool.setuptools.package-dir]` in pyproject.toml maps onto packages, every
`import` and `from ... import` anywhere in it (module level, inside functions, under
`TYPE_CHECKING`), each arrow pointing at the most specific module it names. On that graph:

- no forbidden arrow (FORBIDDEN below: checkers know only the history model and the shared
  data models; the history model knows nothing else of the project; the cluster knows no
  workload or checker; the report knows neither runner nor nemesis; workloads know no checker);
- no circle between modules (strongly connected components of more than one module).

KNOWN_ARROWS is the one list of arrows that still break a rule today, each with the change
that removes it; an arrow missing from the list fails, and so does a listed arrow that is
gone (so the list only shrinks). The tests at the end feed the same rules a tiny synthetic
project to show that they do fail.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The history model: the op record and history (and its EDN form). It imports nothing else of the project.
HISTORY_MODEL = {"prozess.history", "prozess.history_model", "prozess.edn"}
#: Shared data models (record codecs, workload names -> default checkers) that workloads and checkers both import.
MODEL = re.compile(r"^prozess\.(?:model(?:\..+)?|[a-z_]+_model|workload_checkers)$")
#: The runner: the lifecycle of a run and the interpreter of its generator.
RUNNER = re.compile(r"^prozess\.(?:runner|interpreter|lifecycle)(?:\..+)?$")


def area(module: str) -> str:
    """The area of the map a module belongs to: cluster, workloads, nemesis, checkers, report,
    runner, history (the history model), model (shared data models), core (the rest of prozess)
    or external (anything not of this project)."""
    for name in ("cluster", "workloads", "nemesis", "checkers", "report"):
        if module == f"prozess.{name}" or module.startswith(f"prozess.{name}."):
            return name
    if module in HISTORY_MODEL:
        return "history"
    if MODEL.match(module):
        return "model"
    if RUNNER.match(module):
        return "runner"
    if module == "prozess" or module.startswith("prozess."):
        return "core"
    return "external"


#: area -> (what it must not import, why). "*" is every area of the project but its own and the allowed ones.
FORBIDDEN: dict[str, tuple[set[str], str]] = {
    "checkers": ({"cluster", "workloads", "nemesis", "report", "runner", "core", "external:docker"},
                 "checkers are pure functions of a history: they import only the history model and the shared data models"),
    "history": ({"cluster", "workloads", "nemesis", "checkers", "report", "runner", "core", "model"},
                "the history model is what every part speaks; it imports nothing else of the project"),
    "cluster": ({"workloads", "checkers"}, "the cluster knows nodes and systems, not what runs against them"),
    "report": ({"runner", "nemesis"}, "the report reads a run directory; fault pairings come from the run, not the nemesis"),
    "workloads": ({"checkers"}, "a codec shared by a workload and its checker lives in a model module both import"),
}

#: The only modules that may import pytest: the harness itself runs without it.
PYTEST_USERS = {"prozess.pytest_plugin"}

#: Arrows that still break a rule, each with the change that removes it. Empty this list; never grow it.
KNOWN_ARROWS: dict[tuple[str, str], str] = {}
#: Circles that still exist, as the sorted tuple of their modules, with the change that removes them.
KNOWN_CIRCLES: dict[tuple[str, ...], str] = {}


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path}:{self.line})"


def package_dirs(root: Path) -> dict[str, Path]:
    """pyproject's [tool.setuptools] package-dir: package -> folder."""
    data = tomllib.loads((root / "pyproject.toml").read_text())
    return {pkg: root / folder for pkg, folder in data["tool"]["setuptools"]["package-dir"].items()}


def modules_of(root: Path, dirs: dict[str, Path] | None = None) -> dict[str, Path]:
    """module name -> file, for every .py file under a mapped folder (the most specific mapping wins)."""
    dirs = package_dirs(root) if dirs is None else dirs
    out: dict[str, Path] = {}
    for pkg, folder in sorted(dirs.items(), key=lambda kv: -len(str(kv[1]))):
        for f in sorted(folder.rglob("*.py")):
            if any(p.startswith(".") or p == "__pycache__" for p in f.relative_to(folder).parts):
                continue
            parts = list(f.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if f not in out.values():
                out.setdefault(".".join([pkg, *parts]), f)
    return out


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every dotted name an import statement anywhere in `tree` asks for, with its line.

    `from pkg import x` asks for `pkg.x`: a sub-module when there is one, else a name in pkg."""
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names += [(prefix if a.name == "*" else f"{prefix}.{a.name}", node.lineno) for a in node.names]
    return names


def import_graph(root: Path, modules: dict[str, Path] | None = None) -> tuple[nx.DiGraph, list[Arrow]]:
    """(graph of the project's modules, every arrow, those to other libraries as `external:NAME`).

    An arrow points at the most specific module of the project a name belongs to."""
    modules = modules_of(root) if modules is None else modules
    arrows: list[Arrow] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        seen: set[str] = set()
        for name, line in _imported_names(tree, module, path.name == "__init__.py"):
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if not target:
                top = name.split(".")[0]
                if top == "prozess" or not top:
                    continue  # a name the project does not have: that import would fail on its own
                target = f"external:{top}"
            if target != module and target not in seen:
                seen.add(target)
                arrows.append(Arrow(module, target, str(path.relative_to(root)), line))
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    graph.add_edges_from((a.source, a.target) for a in arrows if not a.target.startswith("external:"))
    return graph, arrows


def forbidden(arrows: list[Arrow]) -> list[tuple[Arrow, str]]:
    """Each arrow that breaks a rule of FORBIDDEN, with the rule's reason."""
    out = []
    for a in arrows:
        if a.target == "external:pytest" and a.source not in PYTEST_USERS:
            out.append((a, "only the pytest plugin imports pytest; the harness runs without it"))
            continue
        src = area(a.source)
        rule = FORBIDDEN.get(src)
        if rule is None:
            continue
        banned, why = rule
        dst = a.target if a.target.startswith("external:") else area(a.target)
        if dst != src and dst in banned:
            out.append((a, why))
    return out


def circles(graph: nx.DiGraph) -> list[tuple[str, ...]]:
    """Every group of modules that import each other in a circle (SCCs of more than one module)."""
    return sorted(tuple(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def _explain_circle(graph: nx.DiGraph, circle: tuple[str, ...]) -> str:
    cycle = nx.find_cycle(graph.subgraph(circle))
    return " -> ".join([cycle[0][0], *(b for _, b in cycle)])


@pytest.fixture(scope="module")
def project():
    return import_graph(ROOT)


def test_every_package_dir_holds_modules(project):
    graph, _ = project
    for pkg in package_dirs(ROOT):
        assert pkg in graph, f"{pkg}: no __init__.py found under its package-dir"


def test_no_forbidden_arrow(project):
    _, arrows = project
    found = forbidden(arrows)
    new = [f"{a}: {why}" for a, why in found if (a.source, a.target) not in KNOWN_ARROWS]
    assert not new, "forbidden import arrows:\n  " + "\n  ".join(new)


def test_known_arrows_still_exist(project):
    """A known arrow that is gone is taken off KNOWN_ARROWS, so the list only shrinks."""
    _, arrows = project
    present = {(a.source, a.target) for a, _ in forbidden(arrows)}
    gone = [f"{s} -> {t}" for s, t in KNOWN_ARROWS if (s, t) not in present]
    assert not gone, "remove these from KNOWN_ARROWS (they no longer exist): " + ", ".join(gone)


def test_no_circle_between_modules(project):
    graph, _ = project
    found = [c for c in circles(graph) if c not in KNOWN_CIRCLES]
    assert not found, "modules importing each other in a circle:\n  " + "\n  ".join(_explain_circle(graph, c) for c in found)
    gone = [c for c in KNOWN_CIRCLES if c not in circles(graph)]
    assert not gone, f"remove these from KNOWN_CIRCLES (they no longer exist): {gone}"


def guarded_project_imports(path: Path) -> list[int]:
    """Lines of `try` blocks that import prozess and catch ImportError (or its subclass): a broken
    install of the project itself must fail loudly, never fall back or turn into an unknown verdict."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for h in node.handlers:
            for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]) if h.type is not None else []:
                caught.add(t.id if isinstance(t, ast.Name) else getattr(t, "attr", ""))
        if not caught & {"ImportError", "ModuleNotFoundError"}:
            continue
        body = ast.Module(body=node.body, type_ignores=[])
        for sub in ast.walk(body):
            names = [a.name for a in sub.names] if isinstance(sub, ast.Import) else \
                [sub.module or ""] if isinstance(sub, ast.ImportFrom) and not sub.level else \
                ["prozess"] if isinstance(sub, ast.ImportFrom) else []
            if any(n == "prozess" or n.startswith("prozess.") for n in names):
                out.append(node.lineno)
                break
    return out


def test_no_except_importerror_around_the_projects_own_imports():
    files = [*modules_of(ROOT).values(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]
    found = [f"{f.relative_to(ROOT)}:{line}" for f in files for line in guarded_project_imports(f)]
    assert not found, "except ImportError around an import of prozess: " + ", ".join(found)


# ------------------------------------------------------------------ the rules can fail


def test_a_guarded_project_import_is_caught(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("try:\n    from prozess.checkers import check\nexcept ImportError:\n    check = None\n"
                 "try:\n    import orjson\nexcept ImportError:\n    orjson = None\n")
    assert guarded_project_imports(f) == [1]


def _synthetic(tmp_path: Path, files: dict[str, str]) -> tuple[nx.DiGraph, list[Arrow]]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"prozess" = "prozess"\n"prozess.checkers" = "checkers"\n"prozess.cluster" = "cluster"\n'
    )
    for rel, text in {"prozess/__init__.py": "", "checkers/__init__.py": "", "cluster/__init__.py": "", **files}.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return import_graph(tmp_path)


def test_a_forbidden_arrow_is_caught(tmp_path):
    """A checker importing the cluster (inside a function, as well as at the top) is a forbidden arrow."""
    _, arrows = _synthetic(tmp_path, {
        "checkers/queue.py": "from prozess.history import Op\n\ndef check(h):\n    from prozess.cluster import nodes\n    import docker\n",
        "prozess/history.py": "",
        "cluster/nodes.py": "",
    })
    found = {(a.source, a.target) for a, _ in forbidden(arrows)}
    assert found == {("prozess.checkers.queue", "prozess.cluster.nodes"), ("prozess.checkers.queue", "external:docker")}


def test_the_history_model_imports_nothing_else(tmp_path):
    _, arrows = _synthetic(tmp_path, {"prozess/history.py": "from . import store\n", "prozess/store.py": ""})
    assert [(a.source, a.target) for a, _ in forbidden(arrows)] == [("prozess.history", "prozess.store")]


def test_a_circle_is_caught(tmp_path):
    """history <-> edn through a function-level import is a circle; a one-way arrow is not."""
    graph, arrows = _synthetic(tmp_path, {
        "prozess/history.py": "def read():\n    from prozess.edn import read_edn\n",
        "prozess/edn.py": "from prozess.history import Op\n",
        "prozess/cli.py": "from prozess import history\n",
    })
    assert circles(graph) == [("prozess.edn", "prozess.history")]
    assert "prozess.history -> prozess.edn" in _explain_circle(graph, ("prozess.edn", "prozess.history")) or \
        "prozess.edn -> prozess.history" in _explain_circle(graph, ("prozess.edn", "prozess.history"))
    assert not forbidden(arrows)  # edn belongs to the history model


def test_relative_and_package_imports_resolve(tmp_path):
    """`from . import x` and `from pkg import sub` point at the sub-module; `from pkg import name` at pkg."""
    _, arrows = _synthetic(tmp_path, {
        "cluster/a.py": "from . import b\nfrom prozess.cluster import thing\n",
        "cluster/b.py": "",
    })
    assert sorted((a.source, a.target) for a in arrows) == [("prozess.cluster.a", "prozess.cluster"), ("prozess.cluster.a", "prozess.cluster.b")]
