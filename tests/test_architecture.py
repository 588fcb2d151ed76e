"""The rooms of docs/architecture.md, held to the imports every module of the tree really makes
(read from the source, module-level and deferred imports alike)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = {"methods": "benchbench.methods", "metrics": "benchbench.metrics", "datasets": "benchbench.datasets"}
#: What a built-in plugin may import of benchbench: the public plugin APIs, as a third party's would.
PUBLIC = {
    "benchbench.registry",
    "benchbench.method",
    "benchbench.metric",
    "benchbench.data",
    "benchbench.representation",
    "benchbench.stats",
    "benchbench.boosting",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = PLUGIN_DIRS.get(parts[0], parts[0])
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    return {module_name(f): f for d in ("benchbench", *PLUGIN_DIRS) for f in sorted((ROOT / d).rglob("*.py"))}


def imports(path: Path, modules: set[str]) -> set[str]:
    """The benchbench modules ``path`` imports (``from package import module`` names the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & modules
            found |= submodules or {node.module}
    return {m for m in found if m in modules}


def graph() -> dict[str, set[str]]:
    files = sources()
    return {m: imports(f, set(files)) - {m} for m, f in files.items()}


def documented_levels() -> dict[str, int]:
    """``module → level`` from the table in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    levels = {}
    for level, names in re.findall(r"^\| (\d+) \| (.+) \|$", text, flags=re.M):
        for name in re.findall(r"`([\w.]+)`", names):
            levels["benchbench" if name == "benchbench" else f"benchbench.{name}"] = int(level)
    return levels


def is_plugin(module: str) -> bool:
    return module.split(".")[:2] in (["benchbench", "methods"], ["benchbench", "metrics"], ["benchbench", "datasets"])


def test_every_engine_module_is_in_the_documented_table_and_imports_only_lower_levels():
    edges, levels = graph(), documented_levels()
    engine = {m for m in edges if not is_plugin(m)}
    assert engine == set(levels), (sorted(engine - set(levels)), sorted(set(levels) - engine))
    upward = [(m, d) for m in engine for d in edges[m] if not is_plugin(d) and levels[d] >= levels[m]]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    edges, state, cycles = graph(), {}, []

    def visit(module, path):
        state[module] = "open"
        for dep in sorted(edges[module]):
            if state.get(dep) == "open":
                cycles.append([*path, module, dep])
            elif dep not in state:
                visit(dep, [*path, module])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_plugins_import_only_the_public_plugin_apis():
    edges = graph()
    plugins = {m for m in edges if is_plugin(m)}
    assert len(plugins) > 20
    for module in plugins:
        package = ".".join(module.split(".")[:2])
        wrong = {d for d in edges[module] if d not in PUBLIC and not d.startswith(f"{package}.") and d != package}
        assert not wrong, (module, wrong)


def test_a_metric_file_reaches_neither_the_trainer_nor_the_store():
    edges = graph()
    for metric in (m for m in edges if m.startswith("benchbench.metrics.")):
        reached, todo = set(), [metric]
        while todo:
            for dep in edges[todo.pop()] - reached:
                reached.add(dep)
                todo.append(dep)
        assert not reached & {"benchbench.trainer", "benchbench.store", "benchbench.evaluate"}, metric


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rules above would catch a violation: a deferred import is read too."""
    source = tmp_path / "bad.py"
    source.write_text("def f():\n    from benchbench.trainer import PackTrainer\n")
    assert imports(source, set(sources())) == {"benchbench.trainer"}
