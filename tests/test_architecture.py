"""The rooms of docs/architecture.md, held to the imports every module of the tree really makes
(read from the source, module-level and deferred imports alike)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = {
    "methods": "benchbench.methods",
    "metrics": "benchbench.metrics",
    "datasets": "benchbench.datasets",
    "studies": "benchbench.studies",
}
#: What a built-in plugin may import of benchbench: the one public plugin surface, as a third party's would.
PUBLIC = {"benchbench.api"}


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


def documented_packages() -> list[str]:
    """The sub-packages of ``benchbench/`` in the order docs/architecture.md lists them."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    return re.findall(r"^\| `(\w+)/` \|", text, flags=re.M)


def package_of(module: str) -> str | None:
    """The sub-package an engine module is in (``None``: a top-level module or the package)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ROOT / "benchbench" / parts[1]).is_dir()) else None


def is_plugin(module: str) -> bool:
    return module.split(".")[:2] in [["benchbench", p] for p in PLUGIN_DIRS]


def test_every_engine_module_is_in_the_documented_table_and_imports_only_lower_levels():
    edges, levels = graph(), documented_levels()
    engine = {m for m in edges if not is_plugin(m)}
    assert engine == set(levels), (sorted(engine - set(levels)), sorted(set(levels) - engine))
    upward = [(m, d) for m in engine for d in edges[m] if not is_plugin(d) and levels[d] >= levels[m]]
    assert upward == []


def test_the_packages_follow_the_flow_each_importing_only_those_above_it():
    edges, order = graph(), documented_packages()
    folders = sorted(p.name for p in (ROOT / "benchbench").iterdir() if (p / "__init__.py").is_file())
    assert sorted(order) == folders
    for module, deps in edges.items():
        package = package_of(module)
        if package is None or is_plugin(module):
            continue
        above = set(order[: order.index(package) + 1])
        wrong = {d for d in deps if not is_plugin(d) and package_of(d) not in above}
        assert not wrong, (module, wrong)


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
        assert not reached & {
            "benchbench.training.trainer",
            "benchbench.storage.store",
            "benchbench.evaluation.evaluate",
        }, metric


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rules above would catch a violation: a deferred import is read too."""
    source = tmp_path / "bad.py"
    source.write_text("def f():\n    from benchbench.training.trainer import PackTrainer\n")
    assert imports(source, set(sources())) == {"benchbench.training.trainer"}
