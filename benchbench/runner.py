"""The runner: grid → cells → packs → (trainer → evaluator) on the available devices.

A run is resumable by construction: every cell's state lives in its folder, so running the
same command again skips ``done`` cells, evaluates ``trained`` ones, resumes unfinished ones
from their checkpoint and (with ``retry_failed``) retrains ``failed``/``diverged`` ones.

Packs are plain, picklable :class:`PackJob` values run by :func:`run_pack`; they are dispatched
through joblib — one worker per visible GPU, or in-process on the CPU — so another joblib
backend (Dask, dask-jobqueue on Slurm) can run them without touching the trainer.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from benchbench.cells import Cell, make_packs
from benchbench.evaluate import evaluate_model
from benchbench.grids import Grid
from benchbench.registry import BenchbenchError, datasets, load_plugins
from benchbench.store import CellStore, RunStore
from benchbench.trainer import PackTrainer, TrainSettings

PACKAGES = ("benchbench", "torch", "numpy", "pandas", "scikit-learn", "scipy", "joblib", "click")


@dataclass
class PackJob:
    """Everything one pack needs, so it can run in any process: its cells, results folder,
    device, the plugins to import and the training settings."""

    run_dir: str
    cells: list[dict]
    device: str
    plugins: list[str] = field(default_factory=list)
    settings: TrainSettings = field(default_factory=TrainSettings)


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


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _device_names(devices: list[torch.device]) -> list[str]:
    return [
        f"{d} ({torch.cuda.get_device_name(d)})"
        if d.type == "cuda"
        else f"cpu ({platform.processor() or platform.machine()})"
        for d in devices
    ]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _fail(store: CellStore, exc: BaseException) -> None:
    (store.path / "error.txt").write_text(traceback.format_exc())
    store.set_status("failed", error=_one_line(exc))


def run_pack(job: PackJob) -> None:
    """Train the pack's unfinished cells together, then evaluate each trained one."""
    load_plugins(job.plugins)
    run = RunStore(Path(job.run_dir))
    cells = [Cell.from_config(c) for c in job.cells]
    stores = [run.cell_store(c.id) for c in cells]
    device = torch.device(job.device)
    dataset = datasets.get(cells[0].dataset)()
    pending = [(c, s) for c, s in zip(cells, stores) if s.status()["status"] != "trained"]
    trained = [(c, s) for c, s in zip(cells, stores) if s.status()["status"] == "trained"]
    if pending:
        for _, store in pending:
            store.set_status("running", started=_now(), device=str(device))
        try:
            trainer = PackTrainer([c for c, _ in pending], [s for _, s in pending], dataset, device, job.settings)
            trained += [(c, s) for c, s, _ in trainer.train()]
        except Exception as exc:
            for _, store in pending:
                if store.status()["status"] == "running":
                    _fail(store, exc)
    for cell, store in trained:
        try:
            net = store.load_net(dataset.image_shape)
            results, artifacts = evaluate_model(cell, net, dataset, device, job.settings.progress)
            store.write_metrics(results, artifacts)
            store.set_status("done", **{k: v for k, v in store.status().items() if k != "status"})
        except Exception as exc:
            _fail(store, exc)


def _run_jobs(jobs: list[PackJob]) -> None:
    for job in jobs:
        run_pack(job)


def plan(run: RunStore, cells: list[Cell], retry_failed: bool) -> tuple[list[Cell], dict[str, int]]:
    """The cells that still need work, and the step each resumes from.

    A retried cell keeps what it had: a failed evaluation is evaluated again (its model is kept),
    a failed training resumes from its last checkpoint, a diverged cell (whose checkpoint was
    dropped when it diverged) starts over."""
    todo, start = [], {}
    for cell in cells:
        store = run.add_cell(cell)
        status = store.status()["status"]
        if status == "done" or (status in ("failed", "diverged") and not retry_failed):
            continue
        if status in ("failed", "diverged"):
            status = "trained" if store.model_path.exists() else "pending"
            store.set_status(status)
        ckpt = store.load_checkpoint() if status in ("running", "pending") else None
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
    """Train and evaluate every unfinished cell of ``cells`` into ``run_dir``."""
    settings = settings or TrainSettings()
    devices = resolve_devices(device)
    check_datasets(cells, download)
    run = RunStore(run_dir)
    manifest = run.manifest()
    manifest.update(
        run=run.path.name,
        grid={"name": grid.name, "source": grid.source, "spec": grid.spec},
        command=command or sys.argv,
        git_commit=_git_commit(),
        versions=_versions(),
        devices=_device_names(devices),
        started=_now(),
        ended=None,
        cells=sorted({*manifest.get("cells", []), *(c.id for c in cells)}),
    )
    run.write_manifest(manifest)
    todo, start = plan(run, cells, retry_failed)
    packs = make_packs(todo, pack_size, start)
    jobs = [
        PackJob(
            str(run.path), [c.config() for c in pack], str(devices[i % len(devices)]), list(plugins or []), settings
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
    manifest["ended"] = _now()
    run.write_manifest(manifest)
    return run
