"""The ``benchbench`` command line: run, status, report, list, bench."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from benchbench import registry
from benchbench.grids import BUILTIN_GRIDS, get_grid
from benchbench.registry import BenchbenchError, load_plugins
from benchbench.store import RunStore, results_table
from benchbench.trainer import TrainSettings


def _plugin_option(fn):
    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="FILE.py|MODULE",
        help="Import a plugin (a .py file or a module) before anything else; repeatable.",
    )(fn)


def _split(values: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


class UserError(click.ClickException):
    """A bad input: one line on stderr, exit code 2."""

    exit_code = 2


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BenchbenchError as exc:
            raise UserError(str(exc)) from None


@click.group(cls=Group)
@click.version_option(package_name="benchbench")
def cli() -> None:
    """Train and compare disentangled-representation learners, reproducibly."""


@cli.command()
@click.option(
    "--grid",
    "grid_name",
    default="quick",
    show_default=True,
    help=f"A built-in grid ({', '.join(BUILTIN_GRIDS)}) or a grid .toml file.",
)
@click.option("--datasets", multiple=True, help="Only these datasets (comma-separated or repeated).")
@click.option("--methods", multiple=True, help="Only these methods (comma-separated or repeated).")
@click.option("--seeds", type=click.IntRange(min=1), help="Use seeds 0…N−1 instead of the grid's.")
@click.option("--steps", type=click.IntRange(min=1), help="Override the training length of every cell.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--results",
    "results_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder that holds runs.",
)
@click.option("--name", help="Run name (folder under --results); defaults to the grid's name.")
@click.option(
    "--data-root",
    type=click.Path(file_okay=False),
    help="Where dataset files and caches live (overrides $BENCHBENCH_DATA).",
)
@click.option(
    "--download",
    is_flag=True,
    help="Fetch missing dataset files that have a stable public URL (dsprites, shapes3d), checksum-verified.",
)
@click.option("--retry-failed", is_flag=True, help="Retrain cells that failed or diverged.")
@click.option(
    "--pack-size",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most cells trained together as one pack.",
)
@click.option("--checkpoint-every", default=1000, show_default=True, type=click.IntRange(min=1))
@click.option("--log-every", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--progress/--no-progress", default=True, show_default=True)
@_plugin_option
def run(
    grid_name,
    datasets,
    methods,
    seeds,
    steps,
    device,
    results_dir,
    name,
    data_root,
    download,
    retry_failed,
    pack_size,
    checkpoint_every,
    log_every,
    progress,
    plugins,
) -> None:
    """Train and evaluate every cell of a grid; rerun to resume."""
    from benchbench.runner import run_grid

    if data_root:
        os.environ["BENCHBENCH_DATA"] = str(Path(data_root).resolve())  # workers inherit it
    load_plugins(plugins)
    grid = get_grid(grid_name)
    cells = grid.cells(datasets=_split(datasets), methods=_split(methods), seeds=seeds, steps=steps)
    if not cells:
        raise BenchbenchError(f"grid {grid.name!r} has no cells with these filters")
    run_dir = Path(results_dir) / (name or grid.name)
    settings = TrainSettings(checkpoint_every=checkpoint_every, log_every=log_every, progress=progress)
    store = run_grid(
        grid,
        cells,
        run_dir,
        device=device,
        retry_failed=retry_failed,
        plugins=list(plugins),
        settings=settings,
        pack_size=pack_size,
        command=sys.argv,
        download=download,
    )
    _print_status(store)
    _print_results(results_table(store), cells)


def _print_results(table, cells) -> None:
    """The run's cells and their headline metrics (per-factor values stay in the files): one
    column per cell when they fit side by side, one row per cell otherwise."""
    labels = {c.id: c.label for c in cells}
    table = table[table["cell"].isin(labels)]
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    metrics = [c for c in table.columns if "." in c and not c.startswith("hp.") and c.count(".") == 1]
    if len(table) <= 6:
        wide = table.set_index(table["cell"].map(labels))[["status", *metrics]].T
        click.echo(wide.to_string(float_format=fmt))
    else:
        headline = [c for c in table.columns if c != "cell" and c.count(".") <= 1]
        click.echo(table[headline].to_string(index=False, float_format=fmt))


def _resolve_run(run_ref: str, results_dir: str) -> RunStore:
    for path in (Path(run_ref), Path(results_dir) / run_ref):
        if (path / "manifest.json").is_file():
            return RunStore(path)
    raise BenchbenchError(f"no run at {run_ref!r} (nor {Path(results_dir) / run_ref}): no manifest.json there")


def _print_status(store: RunStore) -> None:
    counts, failures = store.status_counts()
    click.echo(
        f"{store.path}: {counts['done']} done, {counts['running']} running, "
        f"{counts['failed'] + counts['diverged']} failed ({counts['diverged']} diverged), "
        f"{counts['pending'] + counts['trained']} pending"
    )
    for label, status in failures:
        click.echo(f"  {status['status']}: {label}: {status.get('error', '')}")


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
def status(run_ref, results_dir) -> None:
    """Counts of done / running / failed / pending cells of RUN, and the failures."""
    _print_status(_resolve_run(run_ref, results_dir))


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUN/report).")
@click.option(
    "--format", "formats", default="csv,latex,html", show_default=True, help="Comma-separated: csv, latex, html."
)
@click.option(
    "--beta",
    "betas",
    multiple=True,
    metavar="DATASET=B1,B2",
    help="Table 1's two β-VAE rows for a dataset (default: the seed's, 4,60 for shapes2d, 4,8 for celeba).",
)
@click.option(
    "--select-by",
    default="beta_vae_score.eval_accuracy",
    show_default=True,
    help="Metric whose best mean picks Table 1's DIP-VAE configuration.",
)
def report(run_ref, results_dir, out, formats, betas, select_by) -> None:
    """The paper's Tables 1–4 (CSV, LaTeX), its figures and an HTML page, from RUN."""
    from benchbench.report import make_report
    from benchbench.report.tables import Selection

    selection = Selection(select_by=select_by)
    for spec in betas:
        try:
            dataset, values = spec.split("=")
            b1, b2 = (float(v) for v in values.split(","))
        except ValueError:
            raise BenchbenchError(f"--beta takes DATASET=B1,B2, got {spec!r}") from None
        selection.betas[dataset] = (b1, b2)
    run = _resolve_run(run_ref, results_dir)
    folder = make_report(run.path, Path(out) if out else None, [f.strip() for f in formats.split(",")], selection)
    table1 = folder / "table1.csv"
    if table1.exists():
        import pandas as pd

        shown = pd.read_csv(table1)
        for dataset in dict.fromkeys(shown["dataset"]):
            click.echo(f"Table 1 — {selection.describe(dataset)}")
        columns = [
            "dataset",
            "method",
            "metric.mean",
            "metric.std",
            "recon.mean",
            "recon.std",
            "n",
            "paper.metric",
            "paper.recon",
        ]
        click.echo(shown[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"report written to {folder}")


@cli.command(name="bench")
@click.option("--pack-sizes", default="1,4,16", show_default=True, help="Comma-separated pack sizes.")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(min=1), help="Timed steps per size.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=0))
@click.option("--device", default="auto", show_default=True)
@click.option("--dataset", default="shapes2d", show_default=True)
@click.option("--method", default="dip_vae", show_default=True)
@click.option("--arch", default="conv", show_default=True)
@click.option("--latent-dim", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@_plugin_option
def bench_(pack_sizes, steps, warmup, device, dataset, method, arch, latent_dim, batch_size, plugins) -> None:
    """Model-steps/s of the pack trainer for several pack sizes (1 = one model at a time)."""
    import pandas as pd

    from benchbench.bench import bench

    load_plugins(plugins)
    try:
        sizes = [int(s) for s in pack_sizes.split(",")]
    except ValueError:
        raise BenchbenchError(f"--pack-sizes must be comma-separated integers, got {pack_sizes!r}") from None
    rows = bench(
        sizes,
        steps=steps,
        warmup=warmup,
        device=device,
        dataset=dataset,
        method=method,
        arch=arch,
        latent_dim=latent_dim,
        batch_size=batch_size,
    )
    click.echo(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


@cli.command(name="list")
@click.argument("kind", required=False, type=click.Choice(["methods", "metrics", "datasets", "grids"]))
@_plugin_option
def list_(kind, plugins) -> None:
    """Registered plugins with a one-line description and their hyperparameters/options."""
    load_plugins(plugins)
    kinds = [kind] if kind else ["methods", "metrics", "datasets", "grids"]
    for k in kinds:
        click.echo(f"{k}:")
        if k == "grids":
            for name, fn in BUILTIN_GRIDS.items():
                click.echo(f"  {name:<22} {fn()['description']}")
            continue
        for name, obj in getattr(registry, k):
            click.echo(f"  {name:<22} {_describe(obj)}")
            params = _parameters(k, obj)
            if params:
                click.echo(f"  {'':<22} {params}")


def _describe(obj) -> str:
    text = getattr(obj, "description", "") or (obj.__doc__ or "").strip()
    return text.splitlines()[0] if text else ""


def _parameters(kind: str, obj) -> str:
    import inspect

    if kind == "methods":
        items = obj.hyperparameters.items()
        return ", ".join(f"{k}={'derived' if v is None else v}" for k, v in items)
    if kind == "metrics":
        params = inspect.signature(obj).parameters.values()
        return ", ".join(f"{p.name}={p.default}" for p in params if p.kind is p.KEYWORD_ONLY)
    names = getattr(obj, "factor_names", ())
    if not names:
        return "labels: read from its files"
    sizes = getattr(obj, "factor_sizes", ())  # datasets that read sizes from their files set them per instance
    return (
        "factors: " + ", ".join(f"{n}({s})" for n, s in zip(names, sizes)) if sizes else "factors: " + ", ".join(names)
    )
