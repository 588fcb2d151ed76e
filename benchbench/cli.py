"""The ``benchbench`` command line: run, evaluate, status, report, compare, migrate, export, import, zoo,
pull, list, bench."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import click

from benchbench.core import registry
from benchbench.core.files import diagnoses, forget_diagnoses
from benchbench.core.progress import lines_to_stderr
from benchbench.core.records import EncoderSource
from benchbench.core.registry import BenchbenchDeprecation, BenchbenchError, load_plugins
from benchbench.planning.cells import PRECISIONS
from benchbench.planning.grids import MAX_STEPS, check_run_name, get_grid
from benchbench.report.results import results_table, status_counts
from benchbench.storage.store import RunStore, open_run
from benchbench.training.trainer import TrainSettings


def _plugin_option(fn):
    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="FILE.py|MODULE",
        help="Import a plugin (a .py file or a module) before anything else; repeatable.",
    )(fn)


def _data_root_option(fn):
    return click.option(
        "--data-root",
        type=click.Path(file_okay=False),
        help="Where dataset files and caches live (overrides $BENCHBENCH_DATA).",
    )(fn)


#: ``--option METRIC.OPTION=VALUE``, as ``evaluate`` and ``score`` take it (see :func:`_parse_options`).
_metric_option_option = click.option(
    "--option",
    "option_items",
    multiple=True,
    metavar="METRIC.OPTION=VALUE",
    help="Override one metric option, e.g. mig.num_train=10000; repeatable.",
)


def _use_data_root(data_root: str | None) -> None:
    if data_root:
        os.environ["BENCHBENCH_DATA"] = str(Path(data_root).resolve())  # workers inherit it


def _split(values: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


class UserError(click.ClickException):
    """A bad input: one line on stderr, exit code 2."""

    exit_code = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C's KeyboardInterrupt."""


def _terminate(signum, frame):
    raise Terminated


#: What running an interrupted command again does, where it is not to resume it.
RESUMED = {
    "bench": "nothing was kept: run it again to measure",
    "report": "run the same command to write it again",
    "compare": "nothing was written",
    "export": "nothing was written: run it again",
    "check": "nothing was written",
    "status": "nothing was written",
    "list": "nothing was written",
}


class Group(click.Group):
    """Every failure a user can cause or cause to stop is one line: bad input (exit 2, click's
    usage errors included), Ctrl-C (130), SIGTERM (143), a closed output pipe (1)."""

    def invoke(self, ctx):
        signal.signal(signal.SIGTERM, _terminate)
        forget_diagnoses()
        try:
            with warnings.catch_warnings():
                shown = warnings.showwarning
                warnings.showwarning = functools.partial(_show_warning, shown)
                return super().invoke(ctx)
        except BenchbenchError as exc:
            raise UserError(str(exc)) from None
        except click.UsageError as exc:
            raise UserError(exc.format_message()) from None
        except KeyboardInterrupt as exc:
            name, code = ("SIGTERM", 143) if isinstance(exc, Terminated) else ("SIGINT", 130)
            where = getattr(exc, "where", "")
            then = RESUMED.get(ctx.invoked_subcommand, "run the same command to resume")
            _say(f"interrupted ({name}){where}; {getattr(exc, 'then', then)}")
            ctx.exit(code)
        except BrokenPipeError:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more can reach the closed pipe
            _say("output closed (broken pipe); run the same command to resume")
            ctx.exit(1)


def _show_warning(shown, message, category, filename, lineno, file=None, line=None) -> None:
    """A plugin's deprecation as one ``warning:`` line; any other warning as it was ``shown``."""
    if issubclass(category, BenchbenchDeprecation):
        _say(f"warning: {message}")
    else:
        shown(message, category, filename, lineno, file, line)


def _lines_without_bars(ctx: click.Context, param, bars: bool) -> bool:
    """Where no bar shows progress, plain lines do (:mod:`benchbench.core.progress`)."""
    if not bars:
        ctx.with_resource(lines_to_stderr())
    return bars


def _set_threads(ctx: click.Context, param, threads: int | None) -> int | None:
    if threads:
        import torch

        torch.set_num_threads(threads)
    return threads


def _executor_options(command):
    """``--executor``, ``--scheduler`` and ``--cluster``: where a command's jobs run (:func:`_executor`)."""
    options = [
        click.option(
            "--executor",
            type=click.Choice(["local", "dask"]),
            help="local: this machine (default); dask: a Dask cluster (--scheduler or --cluster; docs/cluster.md).",
        ),
        click.option(
            "--scheduler", help="A running Dask scheduler's address or scheduler file (implies --executor dask)."
        ),
        click.option(
            "--cluster", "local_cluster", help="local:N starts a Dask LocalCluster of N worker processes for this run."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    callback=_set_threads,
    help="CPU threads (default: torch's); recorded, as another count rounds differently.  On a busy machine, "
    "1 can be many times faster (docs/performance.md).",
)

_progress_option = click.option(
    "--progress/--no-progress",
    default=lambda: sys.stderr.isatty(),
    show_default="when stderr is a terminal",
    callback=_lines_without_bars,
    help="Progress bars (never escape codes in a log); without them, a plain line per pack, evaluation "
    "and minute of training.",
)


def _say(line: str) -> None:
    """One line on stderr, if stderr can still take it."""
    try:
        click.echo(line, err=True)
    except OSError:
        pass


@click.group(cls=Group)
@click.version_option(package_name="benchbench")
def cli() -> None:
    """Train and compare disentangled-representation learners, reproducibly."""


@cli.command()
@click.option(
    "--grid",
    "grid_name",
    help="A study's grid (benchbench list grids: paper, quick, locatello2019, …) or a grid .toml file.",
)
@click.option("--datasets", multiple=True, help="Only these datasets (comma-separated or repeated).")
@click.option("--methods", multiple=True, help="Only these methods (comma-separated or repeated).")
@click.option("--seeds", type=click.IntRange(min=1), help="Use seeds 0…N−1 instead of the grid's.")
@click.option("--steps", type=click.IntRange(min=1, max=MAX_STEPS), help="Override the training length of every cell.")
@click.option(
    "--precision",
    type=click.Choice(list(PRECISIONS)),
    help="Override every cell's network arithmetic: bf16 layers (fp32 weights, loss and Adam) train other models, "
    "with other ids (docs/performance.md).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@_executor_options
@click.option(
    "--results",
    "results_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder that holds runs.",
)
@click.option("--name", help="Run name (folder under --results); defaults to the grid's name.")
@_data_root_option
@click.option(
    "--download",
    is_flag=True,
    help="Fetch missing dataset files that have a stable public URL (dsprites, shapes3d), checksum-verified.",
)
@click.option(
    "--retry-failed", is_flag=True, help="Retrain cells that failed or diverged; recompute failed evaluations."
)
@click.option("--extend", is_flag=True, help="Add this grid's cells to a run made by another grid (--name).")
@click.option(
    "--pack-size",
    type=click.IntRange(min=1),
    help="Most cells trained together as one pack (default: 1 on the CPU, where `bench` measures packs "
    "slower than one model at a time; 16 on a GPU).",
)
@click.option(
    "--checkpoint-every",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Steps between pack checkpoints: what a crash can lose.",
)
@click.option(
    "--log-every", default=100, show_default=True, type=click.IntRange(min=1), help="Steps between curve points."
)
@click.option(
    "--compile",
    "compile_step",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="torch.compile the training step (auto: on a GPU, with CUDA graphs); changes rounding, recorded per cell.",
)
@_threads_option
@_progress_option
@_plugin_option
def run(
    grid_name,
    datasets,
    methods,
    seeds,
    steps,
    precision,
    device,
    executor,
    scheduler,
    local_cluster,
    results_dir,
    name,
    data_root,
    download,
    retry_failed,
    extend,
    pack_size,
    checkpoint_every,
    log_every,
    compile_step,
    threads,
    progress,
    plugins,
) -> None:
    """Train and evaluate every cell of a grid; rerun to resume.

    A model is identified by its training config alone: a grid whose training matches a run's
    cells but whose metrics differ trains nothing and computes only the missing evaluations."""
    from benchbench.training.runner import run_grid

    _use_data_root(data_root)
    load_plugins(plugins)
    if grid_name is None:
        raise BenchbenchError(
            "give --grid: quick (VAE, β-VAE, DIP-VAE on shapes2d; 10–27 min on a 2-core CPU as measured), "
            "smoke (6 steps a model: a first try), paper, locatello2019, or a .toml file"
        )
    grid = get_grid(grid_name)
    cells = grid.cells(
        datasets=_split(datasets), methods=_split(methods), seeds=seeds, steps=steps, precision=precision
    )
    if not cells:
        raise BenchbenchError(f"grid {grid.name!r} has no cells with these filters")
    run_dir = Path(results_dir) / (check_run_name(name) if name is not None else grid.name)
    settings = TrainSettings(checkpoint_every, log_every, progress, compile_step, threads)
    with contextlib.closing(_executor(executor, scheduler, local_cluster, device)) as chosen:
        store = run_grid(
            grid,
            cells,
            run_dir,
            executor=chosen,
            retry_failed=retry_failed,
            plugins=list(plugins),
            settings=settings,
            pack_size=pack_size,
            command=sys.argv,
            download=download,
            extend=extend,
        )
    counts = _print_status(store)
    _print_results(results_table(store), cells)
    if not grid.evaluations():
        click.echo(f"note: grid {grid.name!r} names no metrics: nothing was evaluated "
                   f"(add [metrics], or run benchbench evaluate {store.path} --metrics NAMES)")  # fmt: skip
    click.echo(f"next: benchbench report {store.path}")
    failed = counts["models"]["failed"] + counts["models"]["diverged"] + counts["evaluations"]["failed"]
    if failed:
        _say(f"{failed} of this run's models and evaluations failed or diverged (listed above)")
        sys.exit(1)


def _executor(name: str | None, scheduler: str | None, local_cluster: str | None, device: str):
    """The executor ``run`` was asked for: ``--scheduler`` or ``--cluster`` mean Dask."""
    if scheduler and local_cluster:
        raise BenchbenchError("--scheduler and --cluster: give one (a running cluster, or one started here)")
    if name == "local" and (scheduler or local_cluster):
        option = "--scheduler" if scheduler else "--cluster"
        raise BenchbenchError(f"--executor local runs on this machine: drop {option}")
    if name == "dask" or scheduler or local_cluster:
        from benchbench.training.cluster import DaskExecutor, local_workers

        if not (scheduler or local_cluster):
            raise BenchbenchError("--executor dask needs --scheduler ADDRESS|FILE or --cluster local:N")
        workers = local_workers(local_cluster) if local_cluster else None
        return DaskExecutor(device, scheduler=scheduler, workers=workers)
    from benchbench.training.runner import LocalExecutor

    return LocalExecutor(device)


def _print_results(table, cells, width: int = 120) -> None:
    """The run's cells, sorted (seed last), numbered with their status, and their headline metrics
    as rows with a column per cell — in blocks that fit ``width`` characters, 4 significant
    digits, ``–`` where a model has no value (per-factor values stay in the files), each in the
    unit the report's tables show (accuracies in %, said after the name)."""
    import pandas as pd

    from benchbench.plugin.metric import declared_directions, shown_output
    from benchbench.report.results import headline_outputs

    order = sorted(cells, key=lambda c: (c.dataset, c.method, c.label.replace(f"/s{c.seed}", ""), c.seed))
    rows = table.set_index("cell")
    order = [c for c in order if c.id in rows.index]
    for number, cell in enumerate(order, 1):
        click.echo(f"#{number:<3} {cell.label}  {rows.at[cell.id, 'status']}")
    outputs = [c for c in table.columns if c.count(".") == 1 and not c.startswith("hp.")]
    names = {o.split(".")[0].partition("@")[0] for o in outputs}
    outputs = headline_outputs(outputs, {m: declared_directions(m) for m in names if m in registry.metrics})
    if not outputs:
        return
    units = {o: shown_output(o).to_percent for o in outputs}
    names = {o: f"{o} (%)" if units[o] else o for o in outputs}
    name_width = min(max(map(len, names.values())), 48)
    per_block = max(1, (width - name_width) // 10)
    for start in range(0, len(order), per_block):
        block = order[start : start + per_block]
        click.echo(f"{'':<{name_width}}" + "".join(f"{'#' + str(start + i + 1):>10}" for i in range(len(block))))
        for output in outputs:
            values = [rows.at[c.id, output] * (units[output] or 1) for c in block]
            shown = "".join(f"{'–' if pd.isna(v) else f'{v:.4g}':>10}" for v in values)
            click.echo(f"{names[output][:name_width]:<{name_width}}{shown}")


def _print_status(store: RunStore, verify: bool = False) -> dict:
    counts = status_counts(store, verify)
    models, evals = counts["models"], counts["evaluations"]
    interrupted = f"{models['interrupted']} interrupted, " if models["interrupted"] else ""
    broken = "".join(f", {models[k]} {k}" for k in ("without weights", "damaged", "missing") if models[k])
    broken += f" (and {models['snapshots']} snapshots)" if models["snapshots"] else ""
    not_applicable = f", {evals['not_applicable']} not applicable" if evals["not_applicable"] else ""
    click.echo(
        f"{store.path}: models {models['trained']} trained, {models['running']} running, {interrupted}"
        f"{models['failed'] + models['diverged']} failed ({models['diverged']} diverged), {models['pending']} pending"
        f"{broken}; "
        f"evaluations {evals['done']} done, {evals['failed']} failed, {evals['missing']} missing{not_applicable}"
    )
    for label, what, error in counts["failures"]:
        click.echo(f"  {what}: {label}: {error}")
    if not counts["weights"] and models["without weights"]:
        click.echo(
            "  note: a run kept without its models' weights (a reference run: records, curves and reports); "
            "evaluate, traversals and --baselines need them: run its grid into another folder to train them"
        )
    return counts


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--cells", "per_cell", is_flag=True, help="Also list every cell: status, pack, evaluations.")
@click.option("--verify", is_flag=True, help="Check every model, curve and array against the checksum written with it.")
def status(run_ref, results_dir, per_cell, verify) -> None:
    """Models trained / running / failed / pending and evaluations done / failed / missing of RUN."""
    run = open_run(run_ref, results_dir)
    _print_status(run, verify)
    if verify:
        checked, damaged = sum(s.recorded_files() for s in run.cell_stores()), diagnoses()
        if damaged:
            _say(f"{damaged} damaged file{'s' if damaged != 1 else ''} found among {checked} checked (said above)")
        else:
            click.echo(f"{checked} files checked against their checksums: all match")
    if per_cell:
        packs, membership = {p.id: len(p.cells()) for p in run.pack_stores()}, run.packs_of_cells()
        stores, writing = run.cell_stores(), run.is_being_written()
        width = max((len(s.cell().label) for s in stores), default=0)
        for store in stores:
            status, records = store.status(), store.evaluations()
            shown = "interrupted" if status.status == "running" and not writing else status.status
            pack = status.pack or membership.get(store.path.name)
            size = packs.get(pack, "?")
            packed = f"pack {pack} ({size} cell{'' if size == 1 else 's'})" if pack else "no pack yet"
            done = sum(r.done for r in records)
            came = f", imported from {status.imported['from']}" if status.imported else ""
            click.echo(
                f"  {store.path.name}  {store.cell().label:<{width}}  {shown:<11} {packed}, {done} evaluations{came}"
            )
    if verify and diagnoses():
        sys.exit(1)


def _parse_options(items: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``METRIC.OPTION=VALUE`` (VALUE read as TOML, else as a plain string) → ``{metric: {option: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        metric, dot, option = name.strip().partition(".")
        if not (sep and dot and metric and option and text.strip()):
            raise BenchbenchError(f"--option takes METRIC.OPTION=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out.setdefault(metric, {})[option] = value
    return out


def _cells_matching(run: RunStore, datasets: list[str] | None, methods: list[str] | None) -> set[str] | None:
    if not datasets and not methods:
        return None
    cells = [s.cell() for s in run.cell_stores()]
    for kind, wanted in (("dataset", datasets), ("method", methods)):
        have = {getattr(c, kind) for c in cells}
        unknown = sorted(set(wanted or ()) - have)
        if unknown:
            raise BenchbenchError(f"{run.path} has no {kind} {', '.join(unknown)} (it has {', '.join(sorted(have))})")
    return {c.id for c in cells if c.dataset in (datasets or [c.dataset]) and c.method in (methods or [c.method])}


def _check_trained(run: RunStore, cell_ids: set[str] | None) -> None:
    """Refuse to evaluate a run (or the models chosen) of which nothing is trained yet, or whose
    weights were not kept (a run being written is refused by its lock instead)."""
    from collections import Counter

    if run.is_being_written():
        return

    statuses = Counter(s.status().status for s in run.cell_stores() if cell_ids is None or s.path.name in cell_ids)
    if not statuses["trained"]:
        have = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "no cells"
        raise BenchbenchError(f"{run.path} has no trained model to evaluate ({have}): train it first with run")
    if run.keeps_no_weights() and not any(s.has_model() for s in run.cell_stores()):
        raise BenchbenchError(
            f"{run.path} was kept without its models' weights (a reference run): run its grid into another folder "
            "to train them, then evaluate that run"
        )


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--metrics", "metric_names", multiple=True, help="Metrics to evaluate (default: the run's grid's).")
@click.option(
    "--profile",
    help="Start every metric from this preset (fast, default) instead of the grid's options.",
)
@_metric_option_option
@click.option("--datasets", multiple=True, help="Only models of these datasets.")
@click.option("--methods", multiple=True, help="Only models of these methods.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@_executor_options
@click.option("--retry-failed", is_flag=True, help="Recompute evaluations that failed.")
@_threads_option
@_progress_option
@_data_root_option
@_plugin_option
def evaluate(
    run_ref, results_dir, metric_names, profile, option_items, datasets, methods, device, executor, scheduler,
    local_cluster, retry_failed, threads, progress, data_root, plugins,
) -> None:  # fmt: skip
    """Evaluate every trained model of RUN (trains nothing); rerun to continue.  With --cluster
    or --scheduler, each model's evaluations are a job of a Dask cluster."""
    import time

    from benchbench.evaluation.evaluate import evaluate_run, evaluation_specs
    from benchbench.storage.migrate import upgrade
    from benchbench.training.runner import LocalExecutor, evaluate_on, here

    _use_data_root(data_root)
    load_plugins(plugins)
    run = open_run(run_ref, results_dir)
    specs = evaluation_specs(run, _split(metric_names), profile, _parse_options(option_items))
    cell_ids = _cells_matching(run, _split(datasets), _split(methods))
    _check_trained(run, cell_ids)
    t0 = time.perf_counter()
    with contextlib.closing(_executor(executor, scheduler, local_cluster, device)) as chosen:
        target = here(chosen.device_for(0))
        settings = TrainSettings(progress=progress, threads=threads)
        cluster = not isinstance(chosen, LocalExecutor)
        jobs = evaluate_on(chosen, run, specs, settings, list(plugins), retry_failed) if cluster else None
        with run.writing(" ".join(sys.argv)):
            upgrade(run)
            written = evaluate_run(run, specs, target, cell_ids, retry_failed, progress, jobs)
    counts = ", ".join(f"{written[s]} {s.replace('_', ' ')}" for s in ("failed", "not_applicable") if written[s])
    lacking = written["without weights"]
    skipped = f"; {lacking} trained models without weights left out" if lacking else ""
    click.echo(f"{written['done']} evaluations computed in {time.perf_counter() - t0:.1f} s"
               + (f" ({counts})" if counts else "") + skipped)  # fmt: skip
    for spec in specs:
        options = ", ".join(f"{k}={v}" for k, v in spec.options.items())
        click.echo(f"  {spec.shown} = {spec.key}: {options}")
    _print_status(run)
    if written["failed"] or lacking:
        failed = f"{written['failed']} of the evaluations computed failed" if written["failed"] else ""
        unusable = f"{lacking} trained models have no usable weights" if lacking else ""
        _say(f"{' and '.join(filter(None, (failed, unusable)))} (listed above)")
        sys.exit(1)


@cli.command()
@click.argument("encoder", required=False)
@click.option("--codes", type=click.Path(dir_okay=False), help="Score a code matrix (.npz) instead of an encoder.")
@click.option("--dataset", "dataset_name", help="The dataset to score it on (codes with their factors: its name).")
@click.option("--name", "run_name", default="scores", show_default=True, help="The run its records go to.")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--label", help="Its name in tables (default: ENCODER).")
@click.option("--metrics", "metric_names", multiple=True, help="Metrics to compute (default: every per-model one).")
@click.option("--profile", help="Start every metric from this preset (fast, default).")
@_metric_option_option
@click.option(
    "--latent-dim", default=10, show_default=True, type=click.IntRange(min=1), help="Codes of a baseline:NAME encoder."
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="The metrics' streams (and a baseline's fit).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--retry-failed", is_flag=True, help="Recompute evaluations that failed.")
@_threads_option
@_progress_option
@_data_root_option
@_plugin_option
def score(
    encoder, codes, dataset_name, run_name, results_dir, label, metric_names, profile, option_items, latent_dim, seed,
    device, retry_failed, threads, progress, data_root, plugins,
) -> None:  # fmt: skip
    """Score ENCODER, trained elsewhere (FILE.py:NAME, MODULE:NAME, a TorchScript or .pt2 file) or
    baseline:pca|ica|random|factors, or a code matrix (--codes FILE.npz: codes, and indices or
    factors), into a run; rerun to compute only what is missing."""
    from benchbench.evaluation.scoring import score as score_encoder
    from benchbench.training.runner import resolve_devices

    _use_data_root(data_root)
    load_plugins(plugins)
    check_run_name(run_name, "--name")
    if (encoder is None) == (codes is None):
        raise BenchbenchError("give an ENCODER or --codes FILE.npz, not both")
    if codes is None and dataset_name is None:
        raise BenchbenchError("give --dataset NAME, the dataset to score the encoder on")
    if codes is None:
        registry.datasets.get(dataset_name)  # an unknown name is a one-line error with close matches
    source = EncoderSource("codes", str(Path(codes).resolve())) if codes else EncoderSource.parse(encoder)
    label = label or encoder  # as typed; a code file's stem by default
    options = _parse_options(option_items)
    run = Path(results_dir) / run_name
    target = str(resolve_devices(device)[0])
    table = score_encoder(
        source, dataset_name, _split(metric_names), profile, options, target, seed, label, latent_dim, run, progress,
        retry_failed,
    )  # fmt: skip
    for note in table.attrs.get("notes", []):
        click.echo(f"note: {note}")
    for (metric, status), rows in table.groupby(["metric", "status"], sort=False):
        done = ", ".join(f"{o} = {v:.4g}" for o, v in zip(rows["output"], rows["value"]))
        shown = done if status == "done" else f"{status}: {rows['error'].iloc[0]}"
        click.echo(f"  {metric:<26} {shown}"[:160])
    _print_status(RunStore(run))
    failed = table.loc[table["status"] == "failed", "metric"].nunique()
    if failed:
        asked = table["metric"].nunique()
        _say(f"{failed} of the {asked} evaluations failed (listed above; --retry-failed to try again)")
        sys.exit(1)


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
@_plugin_option
def migrate(run_ref, results_dir, plugins) -> None:
    """Convert RUN written by an older benchbench to the current layout (values and arrays kept)."""
    from benchbench.storage.migrate import migrate as convert

    load_plugins(plugins)
    run = open_run(run_ref, results_dir, current=False)
    with run.writing(" ".join(sys.argv)):
        cells, rekeyed = convert(run)
    done = [f"{cells} cells converted" if cells else "", f"{rekeyed} evaluations re-keyed" if rekeyed else ""]
    click.echo(f"{run.path}: {', '.join(filter(None, done)) or 'already in the current layout'}")


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUN/report).")
@click.option(
    "--format",
    "formats",
    default="csv,latex,figures,html",
    show_default=True,
    help="Comma-separated: csv, latex, figures (PNG and PDF), html (draws the figures too).",
)
@click.option(
    "--beta",
    "betas",
    multiple=True,
    metavar="DATASET=B1,B2",
    help="The two β-VAE rows a study's table shows for a dataset (kumar2018's Table 1: 4,60 for shapes2d, "
    "4,8 for celeba).",
)
@click.option(
    "--select-by",
    metavar="METRIC.OUTPUT",
    help="Output whose best mean (higher or lower, as the metric declares) picks one configuration per method "
    "variant (default: the study's; kumar2018's is beta_vae_score.eval_accuracy).",
)
@click.option(
    "--standalone", is_flag=True, help="Each .tex a document that compiles alone (default: a table float to \\input)."
)
@click.option(
    "--log-x/--linear-x",
    "logx",
    default=None,
    help="Figure 1's error axis (default: log where the errors span a decade or more).",
)
@click.option(
    "--evaluation",
    "evaluations",
    multiple=True,
    metavar="METRIC=KEY",
    help="Which evaluation of METRIC the tables show (KEY or a prefix; default: the grid's options).",
)
@click.option(
    "--profile",
    metavar="NAME",
    help="Show every metric's evaluation with this preset (fast, default), as evaluate --profile NAME made it.",
)
@click.option("--interval", is_flag=True, help="Each mean's 95 % bootstrap interval in the LaTeX tables too.")
@click.option(
    "--baselines",
    is_flag=True,
    help="Rows of the baselines that need no training (PCA, ICA, the untrained net, the factors) beside "
    "the models; scored first where missing (with the run's evaluations, latent size and seeds).",
)
@click.option("--device", default="auto", show_default=True, help="Where --baselines are scored.")
@click.option("--study", help="Show this study's report (benchbench list studies; default: the run's grid's).")
@click.option(
    "--paper",
    is_flag=True,
    help="LaTeX and figures to paste into a paper: captions of two lines in words, the protocol once as each "
    "table's footnote, 8 pt tables never shrunk, no intervals, figures without the protocol line under them.",
)
@_plugin_option
def report(
    run_ref, results_dir, out, formats, betas, select_by, standalone, logx, evaluations, profile, interval, baselines,
    device, study, paper, plugins,
) -> None:  # fmt: skip
    """The paper's Tables 1–4 (CSV, LaTeX), its figures, every metric and an HTML page, from RUN."""
    from benchbench.report.tables import Selection
    from benchbench.report.writer import make_report

    load_plugins(plugins)  # a plugin dataset (traversals); directions come from the run, older runs from here
    selection = Selection(select_by=select_by, chosen=select_by is not None)
    for spec in betas:
        try:
            dataset, values = spec.split("=")
            b1, b2 = (float(v) for v in values.split(","))
        except ValueError:
            raise BenchbenchError(f"--beta takes DATASET=B1,B2, got {spec!r}") from None
        selection.betas[dataset] = (b1, b2)
    chosen = {}
    for spec in evaluations:
        metric, sep, key = spec.partition("=")
        if not (sep and metric.strip() and key.strip()):
            raise BenchbenchError(f"--evaluation takes METRIC=KEY, got {spec!r}")
        chosen[metric.strip()] = key.strip()
    run = open_run(run_ref, results_dir)
    formats = [f.strip() for f in formats.split(",")]
    if baselines:
        from benchbench.evaluation.scoring import score_baselines
        from benchbench.training.runner import resolve_devices

        for note in score_baselines(run, resolve_devices(device)[0]):
            click.echo(f"note: {note}")
    folder, notes, said = make_report(
        run.path, Path(out) if out else None, formats, selection, chosen, standalone, logx, profile, interval, study,
        paper,
    )  # fmt: skip
    for note in notes:
        click.echo(f"note: {note}")
    for line in said:
        click.echo(line)
    click.echo(f"report written to {folder}")


@cli.command()
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option(
    "--tolerance",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Largest |difference| allowed before the exit code is 1.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write every value side by side to this CSV.")
@click.option("--all", "show_all", is_flag=True, help="Print every model's values, not only those that differ.")
@_plugin_option
def compare(run_a, run_b, results_dir, tolerance, out, show_all, plugins) -> None:
    """Every metric of the models present in both runs (same cell id), side by side, with a
    verdict per output; exit code 1 if any differs by more than --tolerance."""
    from benchbench.report.compare import compare_runs, exceeds, incomplete

    load_plugins(plugins)
    a, b = open_run(run_a, results_dir), open_run(run_b, results_dir)
    frame, verdicts, notes = compare_runs(a.path, b.path, tolerance)
    for note in notes:
        click.echo(f"note: {note}")
    shown = frame if show_all else frame[frame["a"].ne(frame["b"]) & ~(frame["a"].isna() & frame["b"].isna())]
    if not shown.empty:
        click.echo(shown.to_string(index=False, na_rep="–", float_format=lambda v: f"{v:.6g}"))
    for verdict in verdicts:
        click.echo(verdict.line())
    if out:
        frame.to_csv(out, index=False)
        click.echo(f"side by side: {out}")
    beyond, lacking = exceeds(verdicts, tolerance), incomplete(verdicts)
    click.echo(
        f"{len(beyond)} of {len(verdicts)} outputs differ by more than {tolerance:g}"
        if beyond
        else f"all {len(verdicts)} outputs within {tolerance:g} on {frame['cell'].nunique()} shared models"
    )
    if lacking:
        in_a, in_b = (sum(v.missing[i] for v in lacking) for i in (0, 1))
        _say(f"{len(lacking)} of {len(verdicts)} outputs are missing in one run for some models "
             f"({in_a} values missing in A, {in_b} in B): evaluate the run that lacks them")  # fmt: skip
    if beyond or lacking:
        sys.exit(1)


@cli.command()
@click.argument("run_ref", metavar="RUN")
@click.argument("dest")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--cells", multiple=True, help="Only these models: cell ids or unique id prefixes, comma-separated.")
@click.option("--no-weights", is_flag=True, help="Records, curves and evaluations only, without the models' weights.")
def export(run_ref, dest, results_dir, cells, no_weights) -> None:
    """Write RUN's trained models to DEST as a bundle anyone can verify (with or without benchbench):
    a folder, or one file if DEST ends in .tar; a path or any fsspec URL (s3://, hf://, …)."""
    from benchbench.sharing.bundle import export_run

    run = open_run(run_ref, results_dir)
    listing = export_run(run, dest, _split(cells), weights=not no_weights)
    size = sum(f["size"] for f in listing.files.values())
    weights = "with weights" if listing.has_weights else "without weights"
    click.echo(
        f"{dest}: {len(listing.cells)} models {weights}, {len(listing.files) + 2} files, {size / 1e6:.1f} MB; "
        f"bundle hash {listing.hash}"
    )
    scored = sum(s.scored() is not None for s in run.cell_stores())
    if scored and not cells:
        click.echo(
            f"note: {scored} encoders scored here, not trained here, are not in it (their sources are elsewhere)"
        )


@cli.command(name="import")
@click.argument("src")
@click.option("--name", "run_name", help="The run to import into (default: the bundle's); merged where it exists.")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.option("--cells", multiple=True, help="Only these models: cell ids or unique prefixes.")
@click.pass_context
def import_(ctx, src, run_name, results_dir, cells) -> None:
    """Import the bundle at SRC (a folder or .tar: a path or any fsspec URL) into a run: every file
    checked before anything is kept; a stopped download resumes when run again."""
    from benchbench.sharing.importing import import_bundle

    ctx.with_resource(lines_to_stderr())
    click.echo(import_bundle(src, results_dir, run_name, _split(cells)).line())


@cli.group()
def zoo() -> None:
    """A zoo of bundles: an index (zoo.json) that lists them, their models and headline metrics."""


@zoo.command(name="index")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
def zoo_index(folder) -> None:
    """Check every bundle in FOLDER (folders and .tar files) and list them in FOLDER/zoo.json; publish
    the folder (any static web server, a bucket, a Hub repository) for others to pull from."""
    from benchbench.sharing.zoo import INDEX, write_index

    index = write_index(Path(folder))
    models = sum(len(b["cells"]) for b in index["bundles"])
    click.echo(f"{Path(folder) / INDEX}: {len(index['bundles'])} bundles, {models} models")


@zoo.command(name="list")
@click.argument("url")
def zoo_list(url) -> None:
    """The models of the zoo at URL (its zoo.json, or the folder holding it): id, bundle, label,
    training steps and headline metrics."""
    import pandas as pd

    from benchbench.sharing.zoo import read_index, rows

    table = pd.DataFrame(rows(read_index(url)[0]))
    click.echo(table.to_string(index=False, na_rep="–", float_format=lambda v: f"{v:.4g}"))


@cli.command()
@click.argument("url")
@click.argument("cells", nargs=-1, required=True)
@click.option("--name", "run_name", help="The run to import into (default: each bundle's run).")
@click.option("--results", "results_dir", default="results", show_default=True)
@click.pass_context
def pull(ctx, url, cells, run_name, results_dir) -> None:
    """Import the models CELLS (ids or unique prefixes) of the zoo at URL, fetching only their files,
    each bundle checked against the hash the zoo lists for it."""
    from benchbench.sharing.zoo import pull as pull_models

    ctx.with_resource(lines_to_stderr())
    for imported in pull_models(url, list(cells), results_dir, run_name):
        click.echo(imported.line())


@cli.command(name="bench")
@click.option("--pack-sizes", default="1,4,16", show_default=True, help="Comma-separated pack sizes.")
@click.option("--steps", default=20, show_default=True, type=click.IntRange(min=1), help="Timed steps per size.")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=0), help="Untimed steps before timing.")
@click.option("--device", default="auto", show_default=True)
@click.option("--dataset", default="shapes2d", show_default=True)
@click.option("--method", default="dip_vae", show_default=True)
@click.option("--arch", default="conv", show_default=True)
@click.option("--latent-dim", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--compile",
    "compile_steps",
    default="off",
    show_default=True,
    type=click.Choice(["off", "on", "both"]),
    help="Time the eager step, the compiled one (CUDA graphs on a GPU), or both.",
)
@click.option(
    "--precision",
    "precisions",
    default="fp32",
    show_default=True,
    type=click.Choice([*PRECISIONS, "both"]),
    help="Time the network in fp32, in bf16 (fp32 weights), or both.",
)
@click.option(
    "--threads",
    "thread_counts",
    help="Comma-separated CPU thread counts to time each configuration with (default: torch's).",
)
@click.option(
    "--metrics",
    "metric_names",
    help="Time these metrics (comma-separated, or 'all') instead of training: seconds in the network and "
    "the rest, on synthetic codes of --dataset and, with --run, on a trained model's mean and sampled codes.",
)
@click.option("--run", "metric_run", type=click.Path(exists=True, file_okay=False), help="With --metrics: a run.")
@click.option("--cell", "metric_cell", help="With --run: the cell (default: the first trained one).")
@click.option("--profile", help="With --metrics: each metric's preset (e.g. fast) instead of its defaults.")
@_progress_option
@_plugin_option
def bench_(
    pack_sizes, steps, warmup, device, dataset, method, arch, latent_dim, batch_size, compile_steps, precisions,
    thread_counts, metric_names, metric_run, metric_cell, profile, progress, plugins,
) -> None:  # fmt: skip
    """Model-steps/s of the pack trainer for several pack sizes (1 = one model at a time); with
    --metrics, seconds per metric evaluation instead."""
    import pandas as pd

    from benchbench.training.bench import bench

    load_plugins(plugins)
    if metric_names or metric_run or metric_cell or profile:
        _bench_metrics(metric_names, metric_run, metric_cell, profile, device, dataset)
        return
    sizes = _counts("--pack-sizes", pack_sizes)
    threads = _counts("--threads", thread_counts) if thread_counts else [None]
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
        compile_modes=["off", "on"] if compile_steps == "both" else [compile_steps],
        precisions=list(PRECISIONS) if precisions == "both" else [precisions],
        threads=threads,
    )
    click.echo(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _bench_metrics(names: str | None, run: str | None, cell: str | None, profile: str | None, device, dataset) -> None:
    """``bench --metrics``: one row per metric and representation, then each one's total."""
    import pandas as pd

    from benchbench.evaluation import bench
    from benchbench.evaluation.evaluate import load_trained
    from benchbench.plugin.data import GroundTruthDataset
    from benchbench.plugin.metric import check_profile
    from benchbench.training.runner import resolve_devices

    if not names:
        raise BenchbenchError("--run, --cell and --profile time metrics: name them with --metrics (or 'all')")
    if cell and not run:
        raise BenchbenchError("--cell names a model of a run: give --run too")
    chosen = registry.metrics.names() if names == "all" else [n.strip() for n in names.split(",") if n.strip()]
    for name in chosen:
        registry.metrics.get(name)  # an unknown name is a one-line error with close matches
    check_profile(profile, chosen)
    data = registry.datasets.get(dataset)()
    subjects = [(data, bench.synthetic_codes(data), ("mean",))] if isinstance(data, GroundTruthDataset) else []
    if run:
        _, model_data, view = load_trained(run, cell, resolve_devices(device)[0])
        subjects.append((model_data, view, ("mean", "sampled") if view.has_posterior else ("mean",)))
    if not subjects:
        raise BenchbenchError(f"{dataset} has no factors to make codes of; give a trained model with --run")
    rows = []
    for subject_data, model, representations in subjects:
        found = bench.bench_metrics(chosen, subject_data, model, profile=profile, representations=representations)
        rows += [{"scored": model.label, **row} for row in found]
    frame = pd.DataFrame(rows)
    click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    totals = frame.groupby("scored", sort=False)[["seconds", "network_s", "rest_s", "images_encoded"]].sum()
    click.echo(totals.to_string(float_format=lambda v: f"{v:.2f}"))


def _counts(option: str, text: str) -> list[int]:
    try:
        counts = [int(s) for s in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise BenchbenchError(f"{option} must be comma-separated positive integers, got {text!r}")
    return counts


@cli.command()
@click.argument("plugins_to_check", metavar="PLUGIN", nargs=-1, required=True)
@_plugin_option
def check(plugins_to_check, plugins) -> None:
    """Check a method, metric or dataset before a grid meets it: a registered name, or a plugin
    file (.py) or module whose every registration is checked.  One line per check; exit 1 if one fails."""
    from benchbench.testing import check_plugin, is_registered, registered_by

    load_plugins(plugins)
    names = []
    for given in plugins_to_check:
        is_source = given.endswith(".py") or ("." in given and not is_registered(given))  # a file or a module
        names += registered_by(given) if is_source else [given]
    failed = 0
    for name in names:
        click.echo(f"{name}:")
        for found in check_plugin(name):
            click.echo(f"  {found.line()}")
            failed += found.passed is False
    click.echo(f"{failed} check{'s' if failed != 1 else ''} failed" if failed else "every check passed")
    if failed:
        sys.exit(1)


@cli.command(name="list")
@click.argument("kind", required=False, type=click.Choice(["methods", "metrics", "datasets", "studies", "grids"]))
@_plugin_option
def list_(kind, plugins) -> None:
    """Registered plugins with a one-line description and their hyperparameters/options."""
    from benchbench.plugin.study import grid_catalogue

    load_plugins(plugins)
    kinds = [kind] if kind else ["methods", "metrics", "datasets", "studies", "grids"]
    for k in kinds:
        click.echo(f"{k}:")
        if k == "grids":
            for name, (study, make) in grid_catalogue().items():
                click.echo(f"  {name:<22} {make()['description']} (study {study})")
            continue
        for name, obj in getattr(registry, k):
            click.echo(f"  {name:<22} {_describe(obj)}")
            params = _parameters(k, obj)
            if params:
                click.echo(f"  {'':<22} {params}")
            if getattr(obj, "defined_by", None):
                click.echo(f"  {'':<22} defined by: {obj.defined_by}")


def _describe(obj) -> str:
    """A plugin's first sentence (of its description, else its docstring), never cut inside
    parentheses: its first paragraph up to the first full stop outside them."""
    text = getattr(obj, "description", "") or (obj.__doc__ or "").strip()
    paragraph = " ".join(text.split("\n\n")[0].split())
    depth = 0
    for i, char in enumerate(paragraph):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth == 0 and paragraph[i + 1 : i + 2] in ("", " "):
            return paragraph[: i + 1]
    return paragraph


def _parameters(kind: str, obj) -> str:
    import inspect

    if kind == "methods":
        items = obj.hyperparameters.items()
        return ", ".join(f"{k}={'derived' if v is None else v}" for k, v in items)
    if kind == "studies":
        return f"grids: {', '.join(obj.grids) or 'none'}; {obj.title}" if obj.title else ""
    if kind == "metrics":
        empty = inspect.Parameter.empty
        return ", ".join(f"{o.name}={'required' if o.default is empty else o.default}" for o in obj.options.values())
    names = getattr(obj, "factor_names", ())
    if not names:
        return "labels: read from its files"
    sizes = getattr(obj, "factor_sizes", ())  # datasets that read sizes from their files set them per instance
    return (
        "factors: " + ", ".join(f"{n}({s})" for n, s in zip(names, sizes)) if sizes else "factors: " + ", ".join(names)
    )
