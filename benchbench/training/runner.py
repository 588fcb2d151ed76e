"""The runner: grid → cells → packs → (trainer → evaluator) on the available devices.

A run is resumable by construction: every cell's state lives in its folder, so running the
same command again trains nothing that is trained, computes only the evaluations a trained model
lacks (a grid with one more metric, or other options, trains nothing), resumes unfinished
trainings from their checkpoint and (with ``retry_failed``) retrains ``failed``/``diverged``
cells and recomputes failed evaluations.

Packs are plain, picklable :class:`PackJob` values run by :func:`run_pack` wherever an executor
sends them: :class:`LocalExecutor` runs them in this process (or one process per visible GPU),
:class:`benchbench.training.cluster.DaskExecutor` on a Dask cluster.  A job claims the cells it writes
(:func:`benchbench.core.files.claimed`), so one that an executor runs twice never trains a cell twice
at the same time, and it checks what is left to do only once it holds them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from benchbench.core.arch import build_net
from benchbench.core.files import claimed, diagnose
from benchbench.core.progress import log
from benchbench.core.provenance import device_name, git_commit, now, versions
from benchbench.core.records import LAYOUT, Manifest
from benchbench.core.registry import BenchbenchError, datasets, load_plugins, methods, one_line
from benchbench.core.runtime import cpu_threads
from benchbench.evaluation.evaluate import check_specs_fit, evaluate_cell, evaluate_configurations, missing
from benchbench.planning.cells import Cell, make_packs
from benchbench.planning.grids import Grid
from benchbench.plugin.data import data_dir
from benchbench.plugin.metric import EvalSpec
from benchbench.storage.migrate import upgrade
from benchbench.storage.store import CellStore, PackStore, RunStore, pack_id
from benchbench.training.pairs import check_pairs
from benchbench.training.trainer import PackTrainer, TrainSettings


@dataclass
class PackJob:
    """Everything one pack needs, so it can run in any process: its cells, results folder,
    device, the plugins to import, the training settings and the evaluations to compute."""

    run_dir: str
    cells: list[dict]
    device: str
    plugins: list[str] = field(default_factory=list)
    settings: TrainSettings = field(default_factory=TrainSettings)
    evaluations: list[dict] = field(default_factory=list)
    retry_failed: bool = False
    pack: str | None = None  # the pack to train; None: its cells are trained, evaluate them
    data_root: str | None = None  # where dataset files and caches live, as the submitter saw it


class SetupError(BenchbenchError):
    """This process cannot run a job at all (a plugin, the dataset or the results folder is
    out of its reach): nothing of the run was touched, and no cell is to blame."""


def resolve_devices(spec: str) -> list[torch.device]:
    """``auto`` → every visible GPU, else the CPU; ``cuda`` → every GPU; ``cuda:N``; ``cpu``."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return [torch.device("cpu")]
    if not spec.startswith("cuda"):
        raise BenchbenchError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)")
    if not torch.cuda.is_available():
        raise BenchbenchError(f"device {spec!r} requested but CUDA is not available here")
    if spec == "cuda":
        return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return [torch.device(spec)]


#: Cells per pack when none is asked for.  Measured with ``benchbench bench`` (docs/performance.md):
#: on a 2-core CPU a pack trains at 0.80–0.92× one model at a time, so the CPU trains cells one by
#: one; a GPU is where stacking models pays.  Recorded in the manifest; packs, once recorded, are
#: reused whatever the device of a later run.
DEFAULT_PACK_SIZE = {"cpu": 1, "cuda": 16}


def check_datasets(cells: list[Cell], download: bool = False) -> dict[str, Any]:
    """Fail before any training if a dataset is not implemented or its files are missing or
    malformed.  Opening each dataset here also builds its cache once, up front.  With
    ``download``, files with a stable public URL are fetched (and verified) first.  Returns the
    opened datasets by name."""
    problems, available, fetchable, opened = [], [], [], {}
    for name in sorted({c.dataset for c in cells}):
        if name not in datasets:
            problems.append(f"{name} (not implemented)")
            continue
        try:
            if download:
                for item in datasets.get(name).downloads:
                    item.fetch(name)
            opened[name] = datasets.get(name)()
            available.append(name)
        except BenchbenchError as exc:
            problems.append(str(exc))
            fetchable += [name] if datasets.get(name).downloads and not download else []
    if problems:
        hint = f"; --download fetches the files of {', '.join(fetchable)}" if fetchable else ""
        hint += f"; run with --datasets {','.join(available)}" if available else ""
        raise BenchbenchError(f"datasets not available: {'; '.join(problems)}{hint}")
    return opened


def step_bytes(arch: str, image_shape: tuple[int, int, int], latent_dim: int, batch_size: int) -> int:
    """About what one training step of one model holds: float32 weights, gradients and two Adam
    moments, and every layer's output for the batch, kept for the backward pass and its gradient
    (counted on the meta device: nothing is allocated)."""
    with torch.device("meta"):
        net = build_net(arch, image_shape, latent_dim)
        outputs: list[int] = []
        leaves = [m for m in net.modules() if not list(m.children())]
        hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel())) for m in leaves]
        net(torch.zeros(1, *image_shape), torch.zeros(1, latent_dim))
        for hook in hooks:
            hook.remove()
        params = sum(p.numel() for p in net.parameters())
    return 4 * (4 * params + 2 * batch_size * sum(outputs))


def check_sizes(cells: list[Cell], opened: dict[str, Any], device_type: str) -> None:
    """Fail before any training if one model's training step cannot fit in the memory of the
    device kind it trains on (its network, Adam state and a batch's activations: a latent size or
    batch far beyond what the machine holds)."""
    if device_type == "cuda" and not torch.cuda.is_available():
        return  # GPUs elsewhere (a cluster's): their memory is not known here
    memory = (
        min(torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count()))
        if device_type == "cuda"
        else os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    )
    images = {c.method: 2 if methods.get(c.method).observes == "pairs" else 1 for c in cells}  # a pair: two images
    shapes = {(c.arch, c.dataset, c.latent_dim, c.batch_size * images[c.method]) for c in cells}
    for arch, dataset, latent_dim, batch in sorted(shapes):
        needed = step_bytes(arch, opened[dataset].image_shape, latent_dim, batch)
        if needed > memory:
            raise BenchbenchError(
                f"latent_dim {latent_dim}, batch_size {batch} ({arch}, {dataset}): one model's training step "
                f"needs about {needed / 2**30:.1f} GiB (weights, Adam state, activations), more than this "
                f"{device_type}'s {memory / 2**30:.1f} GiB"
            )


def check_pairs_fit(cells: list[Cell], opened: dict[str, Any]) -> None:
    """Fail before any training where a method that trains on pairs meets a dataset that cannot
    give them (no ground-truth factors, or fewer than its ``k``)."""
    for cell in cells:
        method = methods.get(cell.method)()
        if method.observes == "pairs":
            check_pairs(opened[cell.dataset], method.static_part(cell.hyperparameters).get("k"), cell.method)


def _open(job: PackJob):
    """The job's run, cells, their stores and dataset, or a :class:`SetupError` saying why this
    process cannot have them."""
    try:
        if job.data_root:
            os.environ["BENCHBENCH_DATA"] = job.data_root
        load_plugins(job.plugins)
        run = RunStore(Path(job.run_dir))
        run.check_writable()
        cells = [Cell.from_config(c) for c in job.cells]
        return run, cells, [run.cell_store(c.id) for c in cells], datasets.get(cells[0].dataset)()
    except Exception as exc:
        raise SetupError(str(exc) if isinstance(exc, BenchbenchError) else one_line(exc)) from None


def _unfinished(pack: PackStore, stores: list[CellStore]) -> bool:
    """Whether the pack still has training to do (another job may have done it meanwhile)."""
    return pack.checkpoint_path.exists() or any(s.status().status in ("pending", "running") for s in stores)


def _waiting(folder: Path) -> None:
    print(f"waiting for {folder.parent.name}/{folder.name}: another job of this run holds it", file=sys.stderr)


def run_pack(job: PackJob, evaluator: ThreadPoolExecutor | None = None) -> Future | None:
    """Train (or resume, or finish saving) the job's pack, then compute each trained model's
    missing evaluations: here, or in ``evaluator``'s thread (the future is returned) so that the
    device trains the next pack meanwhile.  Each part holds the claims of the cells it writes."""
    if job.settings.threads:
        torch.set_num_threads(job.settings.threads)
    run, cells, stores, dataset = _open(job)
    device = torch.device(job.device)
    if job.pack is not None:
        pack = run.pack_store(job.pack)
        with claimed([s.path for s in stores] + [pack.path], on_wait=_waiting):
            if _unfinished(pack, stores):
                _train(cells, stores, dataset, device, job.settings, pack)
    evaluation = functools.partial(_evaluate, job, stores, dataset, device)
    if evaluator is None:
        evaluation()
        return None
    return evaluator.submit(evaluation)


def _evaluate(job: PackJob, stores: list[CellStore], dataset, device: torch.device) -> None:
    """Each trained model's missing evaluations (its kept snapshots' too)."""
    specs = [EvalSpec.from_json(e) for e in job.evaluations]
    with claimed([s.path for s in stores], on_wait=_waiting):
        for model in (m for s in stores if s.status().status == "trained" for m in s.models()):
            todo = missing(model, specs, job.retry_failed)
            with tqdm(
                total=len(todo), desc="metrics", unit="metric", leave=False, disable=not job.settings.progress
            ) as bar:
                evaluate_cell(model, dataset, device, todo, bar)


def _train(cells, stores, dataset, device, settings: TrainSettings, pack: PackStore) -> None:
    """The whole pack trains, from its checkpoint or from scratch, so every model follows the
    same rounding path as in an uninterrupted run; a model already saved is left as it is."""
    trainer = None
    try:
        trainer = PackTrainer(cells, stores, dataset, device, settings, pack)
        for store in trainer.stores:
            if store.status().status != "trained":
                store.mark_running(pack.id, device, **cpu_threads(device))
        trainer.train()
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the pack resumes from its checkpoint
        if trainer is not None:
            exc.where = f" at step {trainer.step} of pack {pack.id}"
            if trainer.saved_step:
                exc.then = f"run the same command to resume from its checkpoint at step {trainer.saved_step}"
            else:
                exc.then = (
                    "run the same command to train it again: before its first checkpoint, it restarts from step 0"
                )
        raise
    except BrokenPipeError:  # the output was closed (e.g. `| tee` stopped): not the cells' fault
        raise
    except Exception as exc:
        for store in stores:
            if store.status().status in ("pending", "running"):
                store.mark_failed(exc)


def _run_jobs(jobs: list[PackJob], overlap: bool, done=lambda cells: None) -> None:
    """Run ``jobs`` one after another; with ``overlap``, each pack's evaluations run in a worker
    thread while the next pack trains (one at a time, in order)."""
    evaluator = ThreadPoolExecutor(1, thread_name_prefix="evaluate") if overlap else None
    try:
        evaluations = []
        for job in jobs:
            future = run_pack(job, evaluator)
            if future is None:
                done(len(job.cells))
            else:
                future.add_done_callback(lambda _, n=len(job.cells): done(n))
                evaluations.append(future)
        for future in evaluations:
            future.result()
    finally:
        if evaluator is not None:  # on an error or Ctrl-C, the evaluation under way ends first
            evaluator.shutdown(cancel_futures=True)


class LocalExecutor:
    """Jobs on this machine: in this process on one device, or one joblib process per GPU
    when there are several.

    ``overlap`` (default: on a GPU) evaluates each trained pack in a worker thread while the next
    pack trains, so the GPU does not wait for CPU-bound metric work (SVMs, trees); on the CPU
    both would share the same cores, so there it is off unless asked for."""

    def __init__(self, device: str = "auto", overlap: bool | None = None):
        self.devices = resolve_devices(device)
        self.device_type = self.devices[0].type
        self.overlap = self.device_type == "cuda" if overlap is None else overlap

    def describe(self) -> dict:
        """What the manifest records of where the run's jobs ran."""
        threads = {"threads": torch.get_num_threads()} if self.device_type == "cpu" else {}
        return {"executor": "local", "devices": [device_name(d) for d in self.devices], **threads}

    def device_for(self, index: int) -> str:
        return str(self.devices[index % len(self.devices)])

    def run(self, jobs: list[PackJob], bar: tqdm) -> None:
        if len(self.devices) > 1:
            chunks = [jobs[i :: len(self.devices)] for i in range(len(self.devices))]
            Parallel(n_jobs=len(self.devices))(delayed(_run_jobs)(chunk, self.overlap) for chunk in chunks if chunk)
            bar.update(sum(len(j.cells) for j in jobs))
            return
        _run_jobs(jobs, self.overlap, bar.update)

    def close(self) -> None:
        pass


def here(device: str) -> torch.device:
    """Where this process computes what compares a configuration's models: the run's device, or
    the CPU when that is a GPU this machine lacks (a cluster's client)."""
    device = torch.device(device)
    return device if device.type != "cuda" or torch.cuda.is_available() else torch.device("cpu")


def plan(
    run: RunStore, cells: list[Cell], specs: list[EvalSpec], retry_failed: bool, pack_size: int
) -> tuple[list[tuple[str, list[Cell]]], list[Cell]]:
    """The packs to train, as ``(pack id, cells)``, and the trained cells that only lack evaluations.

    A cell that belongs to a recorded pack trains in it, however the earlier attempt ended, so
    which cells train together never depends on when a run was interrupted; cells in no pack
    are grouped by :func:`make_packs` and their packs recorded before any training starts.
    A retried failed training resumes with its pack; a retried diverged cell starts over in a
    new pack."""
    membership = _restored_packs(run, cells, pack_size)
    train, evaluate, repack = [], [], set()
    for cell in cells:
        store = run.add_cell(cell)
        if store is None:  # its folder holds another config: left out, and said
            continue
        status = store.repaired_status()
        if status == "trained" and store.restorable() and store.damaged_files(verify=True):
            store.restart()
            status = "pending"
        if status in ("failed", "diverged"):
            if not retry_failed:
                continue
            if status == "diverged" and not store.model_path.exists():
                repack.add(cell.id)
            status = store.mark_retried()
        if status == "trained":
            if any(missing(model, specs, retry_failed) for model in store.models()):
                evaluate.append(cell)
            continue
        train.append(cell)
    packs: dict[str, list[Cell]] = {}
    fresh = []
    for cell in train:
        recorded = membership.get(cell.id)
        if recorded is None or cell.id in repack:
            fresh.append(cell)
        elif recorded not in packs:
            members = (run.cell_store(i).verified_cell() for i in run.pack_store(recorded).cells())
            packs[recorded] = [c for c in members if c is not None]  # a member whose config is gone trains no more
    for group in make_packs(fresh, pack_size):
        ids = [c.id for c in group]
        for old in {membership[i] for i in ids if i in membership}:
            store = run.pack_store(old)
            store.write([i for i in store.cells() if i not in ids], pack_size)
        packs[pack_id(ids)] = group
        run.pack_store(pack_id(ids)).write(ids, pack_size)
    return list(packs.items()), evaluate


def _restored_packs(run: RunStore, cells: list[Cell], pack_size: int) -> dict[str, str]:
    """Cell id → recorded pack, with any ``pack.json`` that is gone written again from the packs
    its cells' status names (in the grid's order, the order they were stacked in; checked against
    the pack's id, which hashes it), so a restored cell trains with the models it trained with."""
    membership = run.packs_of_cells()
    named: dict[str, list[str]] = {}
    for cell in cells:
        pack = run.cell_store(cell.id).status().pack if cell.id not in membership else None
        if pack:
            named.setdefault(pack, []).append(cell.id)
    for pack, ids in named.items():
        store = run.pack_store(pack)
        if pack_id(ids) == pack:
            diagnose(f"{store.info_path} is missing: written again from its {len(ids)} cells' status")
            store.write(ids, pack_size)
            membership.update(dict.fromkeys(ids, pack))
        else:
            diagnose(f"{store.info_path} is missing and its cells do not restore it: any to train go in a new pack")
    return membership


def _start_manifest(
    run: RunStore, grid: Grid, specs, cells, executor, plugins, command, pack_size, settings, extend: bool = False
) -> Manifest:
    """The run's manifest as this command starts: what runs, with what, where (``started`` is the
    first command's; ``resumed`` this one's).  A run belongs to its grid: another grid's cells
    join it only with ``extend``, and then the manifest keeps the grids before (``extended``)
    and their evaluations."""
    manifest = run.manifest()
    before = manifest.grid
    if before and before.get("name") != grid.name:
        if not extend:
            raise BenchbenchError(
                f"{run.path} is a run of grid {before.get('name')!r}, not {grid.name!r}: give another --name, "
                f"or --extend to add this grid's cells to it"
            )
        manifest.extended = [*(manifest.extended or []), before]
    known = manifest.evaluations_by_key() if extend else {}
    manifest = dataclasses.replace(
        manifest,
        layout=LAYOUT,
        run=run.path.name,
        grid={"name": grid.name, "source": grid.source, "spec": grid.spec},
        study=grid.study,
        evaluations=list({**known, **{s.key: s.to_json() for s in specs}}.values()),
        plugins=plugins,
        pack_size=pack_size,
        command=command,
        git_commit=git_commit(),
        versions=versions(),
        **{**executor.describe(), **({"threads": settings.threads} if settings.threads else {})},
        ended=None,
        cells=sorted({*manifest.cells, *(c.id for c in cells)}),
    )
    if manifest.started is None:
        manifest.started = now()
    else:
        manifest.resumed = now()
    run.write_manifest(manifest)
    return manifest


def make_jobs(
    run: RunStore,
    groups: list[tuple[str | None, list[Cell]]],
    executor,
    specs: list[EvalSpec],
    settings: TrainSettings,
    plugins: list[str],
    retry_failed: bool,
) -> list[PackJob]:
    """A job per ``(pack id, cells)`` of ``groups`` (no pack id: cells trained already, to
    evaluate), each on ``executor``'s device for its place, computing ``specs``."""
    evaluations, root = [s.to_json() for s in specs], str(data_dir().resolve())
    where = [str(Path(p).resolve()) if Path(p).is_file() else p for p in plugins]  # workers' cwd may differ
    return [
        PackJob(
            str(run.path.resolve()),
            [c.config() for c in members],
            executor.device_for(i),
            where,
            settings,
            evaluations,
            retry_failed,
            pid,
            root,
        )
        for i, (pid, members) in enumerate(groups)
    ]


def evaluate_on(
    executor, run: RunStore, specs: list[EvalSpec], settings: TrainSettings, plugins: list[str], retry_failed: bool
):
    """:func:`~benchbench.evaluation.evaluate.evaluate_run`'s ``execute``: each model's missing
    evaluations as one job of ``executor`` (Dask workers, a local cluster's processes), under
    the claims and records training has; progress a model at a time."""

    def execute(stores: list[CellStore]) -> None:
        jobs = make_jobs(run, [(None, [s.cell()]) for s in stores], executor, specs, settings, plugins, retry_failed)
        with tqdm(total=len(jobs), desc="models", unit="model", disable=not settings.progress) as bar:
            executor.run(jobs, bar)

    return execute


def run_grid(
    grid: Grid,
    cells: list[Cell],
    run_dir: Path,
    executor=None,
    retry_failed: bool = False,
    plugins: list[str] | None = None,
    settings: TrainSettings | None = None,
    pack_size: int | None = None,
    command: list[str] | None = None,
    download: bool = False,
    extend: bool = False,
) -> RunStore:
    """Train every untrained cell of ``cells`` into ``run_dir`` and compute the grid's missing
    evaluations of every trained one, with ``executor`` (default: a :class:`LocalExecutor` on
    the best device here)."""
    settings, plugins, command = settings or TrainSettings(), list(plugins or []), command or sys.argv
    executor = executor or LocalExecutor()
    pack_size = pack_size or DEFAULT_PACK_SIZE.get(executor.device_type, 1)
    specs = grid.evaluations()
    opened = check_datasets(cells, download)
    check_sizes(cells, opened, executor.device_type)
    check_pairs_fit(cells, opened)
    for name, dataset in opened.items():
        check_specs_fit(specs, name, dataset)
    run = RunStore(run_dir)
    with run.writing(" ".join(command)):
        upgrade(run)
        manifest = _start_manifest(run, grid, specs, cells, executor, plugins, command, pack_size, settings, extend)
        packs, evaluate = plan(run, cells, specs, retry_failed, pack_size)
        trains = sum(len(members) for _, members in packs)
        log.info(f"{run.path.name}: {len(cells)} cells; {trains} to train in {len(packs)} packs, "
                 f"{len(evaluate)} trained to evaluate")  # fmt: skip
        by_dataset: dict[str, list[Cell]] = {}
        for cell in evaluate:
            by_dataset.setdefault(cell.dataset, []).append(cell)
        groups = list(packs)
        groups += [(None, g[i : i + pack_size]) for g in by_dataset.values() for i in range(0, len(g), pack_size)]
        jobs = make_jobs(run, groups, executor, specs, settings, plugins, retry_failed)
        total = sum(len(j.cells) for j in jobs)
        with tqdm(total=total, desc="cells", unit="cell", disable=not settings.progress) as bar:
            executor.run(jobs, bar)
        evaluate_configurations(run, specs, here(executor.device_for(0)), retry_failed, settings.progress)
        manifest.ended = now()
        run.write_manifest(manifest)
    return run
