"""The runner: grid → cells → packs → (trainer → evaluator) on the available devices.

A run is resumable by construction: every cell's state lives in its folder, so running the
same command again trains nothing that is trained, computes only the evaluations a trained model
lacks (a grid with one more metric, or other options, trains nothing), resumes unfinished
trainings from their checkpoint and (with ``retry_failed``) retrains ``failed``/``diverged``
cells and recomputes failed evaluations.

Packs are plain, picklable :class:`PackJob` values run by :func:`run_pack`; they are dispatched
through joblib — one worker per visible GPU, or in-process on the CPU — so another joblib
backend (Dask, dask-jobqueue on Slurm) can run them without touching the trainer.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from benchbench.cells import Cell, make_packs
from benchbench.evaluate import EvalSpec, evaluate_cell, missing
from benchbench.grids import Grid
from benchbench.provenance import device_name, git_commit, now, versions
from benchbench.registry import BenchbenchError, datasets, load_plugins, one_line
from benchbench.store import LAYOUT, CellStore, RunStore
from benchbench.trainer import PackTrainer, TrainSettings


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


def check_datasets(cells: list[Cell], download: bool = False) -> None:
    """Fail before any training if a dataset is not implemented or its files are missing or
    malformed.  Opening each dataset here also builds its cache once, up front.  With
    ``download``, files with a stable public URL are fetched (and verified) first."""
    problems, available = [], []
    for name in sorted({c.dataset for c in cells}):
        if name not in datasets:
            problems.append(f"{name} (not implemented)")
            continue
        try:
            if download:
                for item in datasets.get(name).downloads:
                    item.fetch(name)
            datasets.get(name)()
            available.append(name)
        except BenchbenchError as exc:
            problems.append(str(exc))
    if problems:
        hint = f"; run with --datasets {','.join(available)}" if available else ""
        raise BenchbenchError(f"datasets not available: {'; '.join(problems)}{hint}")


def _fail(store: CellStore, exc: BaseException) -> None:
    (store.path / "error.txt").write_text(traceback.format_exc())
    store.set_status("failed", error=one_line(exc))


def run_pack(job: PackJob) -> None:
    """Train the pack's unfinished cells together, then compute each trained model's missing
    evaluations."""
    load_plugins(job.plugins)
    run = RunStore(Path(job.run_dir))
    cells = [Cell.from_config(c) for c in job.cells]
    stores = [run.cell_store(c.id) for c in cells]
    device = torch.device(job.device)
    dataset = datasets.get(cells[0].dataset)()
    pending = [(c, s) for c, s in zip(cells, stores) if s.status()["status"] != "trained"]
    if pending:
        for _, store in pending:
            store.set_status("running", started=now(), device=str(device))
        try:
            PackTrainer([c for c, _ in pending], [s for _, s in pending], dataset, device, job.settings).train()
        except Exception as exc:
            for _, store in pending:
                if store.status()["status"] == "running":
                    _fail(store, exc)
    specs = [EvalSpec.from_json(e) for e in job.evaluations]
    for store in stores:
        if store.status()["status"] != "trained":
            continue
        todo = missing(store, specs, job.retry_failed)
        with tqdm(
            total=len(todo), desc="metrics", unit="metric", leave=False, disable=not job.settings.progress
        ) as bar:
            evaluate_cell(store, dataset, device, todo, job.retry_failed, bar)


def _run_jobs(jobs: list[PackJob]) -> None:
    for job in jobs:
        run_pack(job)


def plan(
    run: RunStore, cells: list[Cell], specs: list[EvalSpec], retry_failed: bool
) -> tuple[list[Cell], dict[str, int]]:
    """The cells that still need work (training, or only evaluations), and the step each
    resumes from (a trained cell's is its last step, so it packs only with other trained ones).

    A retried cell keeps what it had: a failed training resumes from its last checkpoint, a
    diverged cell (whose checkpoint was dropped when it diverged) starts over."""
    todo, start = [], {}
    for cell in cells:
        store = run.add_cell(cell)
        status = store.status()["status"]
        if status in ("failed", "diverged"):
            if not retry_failed:
                continue
            status = "trained" if store.model_path.exists() else "pending"
            store.set_status(status)
        if status == "trained":
            if not missing(store, specs, retry_failed):
                continue
            start[cell.id] = cell.steps
        else:
            ckpt = store.load_checkpoint()
            start[cell.id] = int(ckpt["step"]) if ckpt else 0
        todo.append(cell)
    return todo, start


def run_grid(
    grid: Grid,
    cells: list[Cell],
    run_dir: Path,
    device: str = "auto",
    retry_failed: bool = False,
    plugins: list[str] | None = None,
    settings: TrainSettings | None = None,
    pack_size: int = 16,
    command: list[str] | None = None,
    download: bool = False,
) -> RunStore:
    """Train every untrained cell of ``cells`` into ``run_dir`` and compute the grid's missing
    evaluations of every trained one."""
    settings = settings or TrainSettings()
    devices = resolve_devices(device)
    specs = grid.evaluations()
    check_datasets(cells, download)
    run = RunStore(run_dir)
    run.check_layout()
    manifest = run.manifest()
    manifest.update(
        layout=LAYOUT,
        run=run.path.name,
        grid={"name": grid.name, "source": grid.source, "spec": grid.spec},
        evaluations=[s.to_json() for s in specs],
        plugins=list(plugins or []),
        command=command or sys.argv,
        git_commit=git_commit(),
        versions=versions(),
        devices=[device_name(d) for d in devices],
        started=now(),
        ended=None,
        cells=sorted({*manifest.get("cells", []), *(c.id for c in cells)}),
    )
    run.write_manifest(manifest)
    todo, start = plan(run, cells, specs, retry_failed)
    packs = make_packs(todo, pack_size, start)
    evaluations = [s.to_json() for s in specs]
    jobs = [
        PackJob(
            str(run.path),
            [c.config() for c in pack],
            str(devices[i % len(devices)]),
            list(plugins or []),
            settings,
            evaluations,
            retry_failed,
        )
        for i, pack in enumerate(packs)
    ]
    if len(devices) > 1:
        chunks = [jobs[i :: len(devices)] for i in range(len(devices))]
        Parallel(n_jobs=len(devices))(delayed(_run_jobs)(chunk) for chunk in chunks if chunk)
    else:
        with tqdm(total=len(todo), desc="cells", unit="cell", disable=not settings.progress) as bar:
            for job in jobs:
                run_pack(job)
                bar.update(len(job.cells))
    manifest["ended"] = now()
    run.write_manifest(manifest)
    return run
