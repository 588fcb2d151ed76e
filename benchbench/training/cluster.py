"""Packs on a Dask cluster: a running one (``--scheduler``), or a ``LocalCluster`` started for
the run (``--cluster local:N``).

A pack is one Dask task running :func:`benchbench.training.runner.run_pack` on a worker, which must see
the results folder and the data root at the same paths (a shared filesystem).  Dask retries a
task whose worker died; the retry resumes from the pack's last checkpoint, and the cells'
claims make a task that runs twice wait for the first rather than train beside it.  A task
that asks for a GPU carries the ``GPU`` resource, so a worker started with ``--resources
GPU=N`` runs at most N packs at once, each on a GPU of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from benchbench.core.registry import BenchbenchError, one_line
from benchbench.planning.cells import Cell
from benchbench.training.runner import PackJob, SetupError, run_pack

INSTALL = 'pip install "benchbench[cluster]"'


def _distributed():
    try:
        import distributed
    except ImportError:
        raise BenchbenchError(f"--executor dask needs Dask's distributed: {INSTALL}") from None
    return distributed


def local_workers(spec: str) -> int:
    """``local:N`` → N (worker processes of a LocalCluster started for the run)."""
    match = re.fullmatch(r"local:([1-9][0-9]*)", spec)
    if not match:
        raise BenchbenchError(f"--cluster takes local:N (N worker processes), got {spec!r}")
    return int(match.group(1))


def local_cluster(workers: int):
    """A ``LocalCluster`` of ``workers`` single-threaded processes.  Starting one sets Dask's
    worker settings (``OMP_NUM_THREADS=1``…) in this process's environment too; they are put
    back, so that what this process starts later is not slowed down or changed by them."""
    environ = dict(os.environ)
    try:
        return _distributed().LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    finally:
        os.environ.clear()
        os.environ.update(environ)


_gpu_lock, _busy_gpus = threading.Lock(), set()


@contextlib.contextmanager
def a_free_gpu() -> Iterator[str]:
    """One of this worker's GPUs that no other of its packs is using (the ``GPU`` resource lets
    at most as many packs run on a worker as it declared)."""
    with _gpu_lock:
        free = [i for i in range(torch.cuda.device_count()) if i not in _busy_gpus]
        if not free:
            raise SetupError(f"no free GPU ({torch.cuda.device_count()} visible): declare at most that many")
        index = free[0]
        _busy_gpus.add(index)
    try:
        yield f"cuda:{index}"
    finally:
        with _gpu_lock:
            _busy_gpus.discard(index)


def _on_worker(job: PackJob) -> None:
    """Run one pack on this worker; a setup failure names the worker."""
    where = _distributed().get_worker().address
    try:
        if job.device == "cuda":
            with a_free_gpu() as device:
                run_pack(replace(job, device=device))
        else:
            run_pack(job)
    except SetupError as exc:
        raise SetupError(f"worker {where}: {exc}") from None


def _named(job: PackJob) -> str:
    """A job as its messages name it: the pack it trains, or the models it evaluates."""
    if job.pack:
        return f"pack {job.pack}"
    ids = ", ".join(Cell.from_config(c).id for c in job.cells)
    return f"the evaluation of cell{'s' if len(job.cells) > 1 else ''} {ids}"


class DaskExecutor:
    """Jobs as Dask tasks, one per pack, on the cluster ``scheduler`` (an address or a scheduler
    file) or on a ``LocalCluster`` of ``workers`` processes started here and closed with it."""

    def __init__(self, device: str = "auto", scheduler: str | None = None, workers: int | None = None):
        distributed = _distributed()
        self.cluster = None
        if workers is not None:
            self.cluster = local_cluster(workers)
            self.client = distributed.Client(self.cluster)
            self.where = f"local:{workers}"
        else:
            try:
                if Path(scheduler).is_file():
                    self.client = distributed.Client(scheduler_file=scheduler, timeout=10)
                else:
                    self.client = distributed.Client(scheduler, timeout=10)
            except (OSError, ValueError) as exc:
                raise BenchbenchError(f"cannot reach the Dask scheduler {scheduler!r}: {one_line(exc)}") from None
            self.where = scheduler
        self.device_type = self._device_type(device)

    def _gpus(self) -> int:
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return int(sum(w.get("resources", {}).get("GPU", 0) for w in workers))

    def _device_type(self, device: str) -> str:
        """``auto``: cuda if the cluster's workers declare GPUs, else cpu (waiting for a first
        worker, as a batch queue may take a while to start one)."""
        if device == "cpu":
            return "cpu"
        if device == "auto":
            if not self.client.scheduler_info(n_workers=-1)["workers"]:
                tqdm.write(f"waiting for a first worker of {self.where}")
                self.client.wait_for_workers(1)
            return "cuda" if self._gpus() else "cpu"
        if device == "cuda":
            return "cuda"
        raise BenchbenchError(
            f"--device {device!r} with --executor dask: use auto, cpu or cuda (each worker picks its own GPUs)"
        )

    def describe(self) -> dict:
        return {"executor": f"dask {self.where}", "devices": [self.device_type]}

    def device_for(self, index: int) -> str:
        return self.device_type

    def run(self, jobs: list[PackJob], bar: tqdm) -> None:
        """Submit every job, then wait for them in the order they finish.  A worker that cannot
        run a job at all stops the run in one line (no cell is marked failed); so does a pack
        whose workers kept dying."""
        distributed = _distributed()
        resources = {"GPU": 1} if self.device_type == "cuda" else None
        futures = {
            self.client.submit(
                _on_worker,
                replace(job, settings=replace(job.settings, progress=False)),
                key=f"pack-{job.pack or 'evaluate'}-{uuid.uuid4().hex[:8]}",
                resources=resources,
                pure=False,
            ): job
            for job in jobs
        }
        try:
            for future in distributed.as_completed(futures):
                job = futures[future]
                try:
                    future.result()
                except SetupError as exc:
                    raise BenchbenchError(f"{exc}; the run stopped, no cell was marked failed") from None
                except distributed.KilledWorker as exc:
                    then = "resume from its checkpoint" if job.pack else "compute what is missing"
                    raise BenchbenchError(f"{_named(job)}: {one_line(exc)}; run the same command to {then}") from None
                except Exception as exc:
                    raise BenchbenchError(f"{_named(job)} failed on the cluster: {one_line(exc)}") from None
                bar.update(len(job.cells))
        finally:
            self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
