"""The dependency rules that keep the equivalence proof honest, checked on the import graph.

* An interpreter (``backends/<lang>/parser.py`` and its helpers, ``semantics.py``) never imports
  an emitter (``backends/<lang>/backend.py``) nor pySigma's backends: otherwise a shared escaping
  bug would be invisible.
* The shared query layer (``backends/query``) imports no language and nothing of ``converter``.
* The reference evaluator (``converter/reference``) and the rule index (``converter/ruleindex``)
  import nothing from ``backends``.
* Only the command line (``converter/cli/``) imports click; every module has a docstring.
* No module imports a package of the ``test`` extra (pytest, hypothesis, eql), not even lazily.
* No import cycles, counting lazy (in-function) and ``TYPE_CHECKING`` imports: a cycle hidden
  behind one is still two modules that cannot be read or moved one without the other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p for d in ("backends", "converter") for p in (ROOT / d).rglob("*.py"))


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every dotted name the module's import statements name (anywhere in it), relative ones
    resolved; ``from pkg import mod`` gives both ``pkg`` and ``pkg.mod``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


#: Emitter modules: ``backend.py``, and ``backend_<name>.py`` for a second emitter of a language
#: (``backend_cim.py``) or a part split out of one (``backend_deferred.py``).
_EMITTER_FILE = re.compile(r"backend(_\w+)?\.py")
_EMITTER_MODULE = re.compile(r"\.backend(_\w+)?(\.|$)")

INTERPRETER_FILES = [
    p for p in MODULES
    if p.parent.parent.name == "backends" and p.parent.name != "query"
    and not _EMITTER_FILE.fullmatch(p.name) and p.name != "__init__.py"
]


@pytest.mark.parametrize("path", INTERPRETER_FILES, ids=rel)
def test_interpreters_never_import_emitters(path: Path) -> None:
    bad = {m for m in imports(path) if _EMITTER_MODULE.search(m) or m.startswith("sigma.backends")}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


#: Emitter-side helpers that live beside the interpreter (translation and escaping for the
#: backend): an interpreter reusing them would check the emitter against itself.
EMITTER_HELPERS = {
    "backends.lucene.regex", "backends.lucene.pcre", "backends.lucene.pcre_case",
    "backends.lucene.charset",
    "backends.splunk.spl_text", "backends.splunk.terms", "backends.regex_globs",
    "backends.kql.literals",
    "backends.kusto.regex", "backends.splunk.regex_case",
}


@pytest.mark.parametrize(
    "path", [p for p in INTERPRETER_FILES if rel(p)[:-3].replace("/", ".") not in EMITTER_HELPERS], ids=rel
)
def test_interpreters_never_import_emitter_helpers(path: Path) -> None:
    bad = {m for m in imports(path) if any(m == h or m.startswith(h + ".") for h in EMITTER_HELPERS)}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


def test_emitter_helpers_exist() -> None:
    """The list above names real modules (a rename would otherwise make the check vacuous)."""
    for module in EMITTER_HELPERS:
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), module


@pytest.mark.parametrize("path", sorted((ROOT / "backends" / "query").glob("*.py")), ids=rel)
def test_query_layer_imports_no_language(path: Path) -> None:
    bad = {
        m for m in imports(path)
        if m.startswith("converter") or (m.startswith("backends.") and not m.startswith("backends.query")
                                         and not is_error_root(m))
    }
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


#: sigport's one error root: every layer may import it, so it imports nothing of the project.
ERROR_ROOT = "backends.errors"


def is_error_root(module: str) -> bool:
    """``module`` is the error root or a name imported from it."""
    return module == ERROR_ROOT or module.startswith(ERROR_ROOT + ".")


def test_the_error_root_imports_nothing_of_the_project() -> None:
    path = module_path(ERROR_ROOT)
    assert path is not None
    assert not {m for m in imports(path) if m.split(".")[0] in {"converter", "backends"}}


#: The standard library's regex parser under one name (``backends/query/sre.py``): no backend's
#: escaping, so the reference may import it as every other layer does.
NEUTRAL = "backends.query.sre"


def is_neutral(module: str) -> bool:
    """``module`` is the neutral regex-parser module or a name imported from it."""
    return module == NEUTRAL or module.startswith(NEUTRAL + ".")


def test_the_neutral_module_imports_nothing_of_the_project() -> None:
    path = module_path(NEUTRAL)
    assert path is not None
    assert not {m for m in imports(path) if m.split(".")[0] in {"converter", "backends"}}


def module_path(name: str) -> Path | None:
    """The file of project module ``name`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``)."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def project_imports(path: Path) -> set[Path]:
    """The project modules ``path`` imports (at any level: lazy imports count too).

    ``from a.b import c`` names ``a.b`` and, when ``c`` is a submodule, ``a/b/c.py``; the
    enclosing packages' ``__init__`` files that Python also runs are not edges of their own.
    """
    out: set[Path] = set()
    for module in imports(path):
        if module.split(".")[0] in {"converter", "backends"}:
            target = module_path(module)
            if target is not None and target != path:
                out.add(target)
    return out


def _converter_closure(*packages: str) -> list[Path]:
    """``converter`` modules the given packages import, directly or through other converter
    modules."""
    seen: list[Path] = []
    todo = [p for package in packages for p in sorted((ROOT / "converter" / package).rglob("*.py"))]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        todo.extend(p for p in project_imports(path) if p.is_relative_to(ROOT / "converter"))
    return seen


def test_reference_is_independent_of_backends() -> None:
    """The reference evaluator, the rule index and everything they import, however split."""
    closure = set(_converter_closure("reference", "ruleindex"))
    walked = {rel(p) for p in closure}
    assert {"converter/reference/values.py", "converter/ruleindex/needs.py"} <= walked  # the walk works
    for path in sorted(closure):
        bad = {m for m in imports(path)
               if (m.startswith("backends") and not is_error_root(m) and not is_neutral(m))
               or m.startswith("sigma.backends")}
        assert not bad, f"{rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_only_the_cli_imports_click(path: Path) -> None:
    if rel(path).startswith("converter/cli/"):
        return
    assert not {m for m in imports(path) if m == "click" or m.startswith("click.")}, rel(path)


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_every_module_has_a_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), rel(path)


def module_name(path: Path, root: Path = ROOT) -> str:
    """``backends/eql/parser.py`` -> ``backends.eql.parser``; a package is its ``__init__``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(paths: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = {module_name(p, root): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports(path, root):
            while imported and imported not in modules:  # ``mod.attr`` -> ``mod``
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path ``[a, b, ..., a]``, or None (iterative depth-first)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph(MODULES))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_lazy_and_type_only_imports(tmp_path: Path) -> None:
    """The check above cannot pass vacuously: a cycle through a function-level import and a
    ``TYPE_CHECKING`` import is found."""
    package = tmp_path / "backends" / "x"
    package.mkdir(parents=True)
    (tmp_path / "backends" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .b import g\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from backends.x import a\n"
    )
    graph = import_graph(sorted((tmp_path / "backends").rglob("*.py")), tmp_path)
    assert find_cycle(graph) == ["backends.x.a", "backends.x.b", "backends.x.a"]


#: The ``test`` extra of pyproject.toml: installed for the tests, absent from a user's install.
#: (types-PyYAML installs only stubs, for mypy: no module of that name can be imported.)
TEST_ONLY = {"pytest", "hypothesis", "eql", "mypy", "types-PyYAML"}


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_no_test_only_dependency_at_run_time(path: Path) -> None:
    """No module imports a test-only package, not even lazily: a user's results must not depend
    on whether the test extra happens to be installed."""
    bad = {m for m in imports(path) if m.split(".")[0] in TEST_ONLY}
    assert not bad, f"{rel(path)} imports {sorted(bad)}"


def test_test_only_list_is_the_test_extra() -> None:
    """``TEST_ONLY`` names exactly the packages of the ``test`` extra (kept in step)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = text.split("\ntest = [", 1)[1].split("]", 1)[0]
    assert {re.match(r'\s*"([A-Za-z0-9_.-]+)', line).group(1) for line in extra.splitlines()
            if line.strip().startswith('"')} == TEST_ONLY
