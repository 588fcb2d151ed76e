"""Packs on a Dask cluster (a CPU LocalCluster of two worker processes): the same bits as a
local run, and the faults a cluster has, survived."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from dask import config as dask_config
from distributed import Client
from faults import KILLER, SPEC, assert_same, command, finish, launch, progress, snapshot, uninterrupted
from filelock import FileLock
from run_helpers import assert_one_line_error, write_grid

from benchbench.cli import cli
from benchbench.core.files import CLAIM
from benchbench.core.registry import BenchbenchError
from benchbench.storage.store import RunStore
from benchbench.training.cluster import a_free_gpu, local_cluster, local_workers
from benchbench.training.runner import PackJob, SetupError, run_pack

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shapes):
    """The faults grid run once in this process on one thread, as a Dask worker runs it (Dask sets
    ``OMP_NUM_THREADS=1``): the bits every run on the cluster must end with."""
    return uninterrupted(tmp_path_factory.mktemp("reference"), threads=1)


@pytest.fixture(scope="module")
def cluster():
    """A running cluster that runs reach with ``--scheduler``, and a client of the tests' own.

    A worker the tests kill is restarted by its nanny, which sets Dask's worker settings
    (``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``…) in this process's environment again: the
    environment is put back when the module ends, so later tests' subprocesses are not changed."""
    environ = dict(os.environ)
    with (
        local_cluster(2) as running,
        Client(running) as client,
    ):
        assert "OMP_NUM_THREADS" not in os.environ  # Dask's worker settings stay in the workers
        yield running, client
    os.environ.clear()
    os.environ.update(environ)


def test_the_smoke_grid_on_a_local_cluster_gives_the_bits_of_a_local_run_and_leaves_the_environment(
    tmp_path, cli_runner
):
    """``--cluster local:2``: a LocalCluster started for the run (this module's one other cluster).
    The local run trains on one thread, as Dask's workers do: on some CPUs (Intel, AVX-512) one
    model rounds differently on 1 and 2 threads (docs/reproducibility.md)."""
    smoke = ["run", "--grid", "smoke", "--no-progress", "--device", "cpu"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = cli_runner.invoke(cli, [*smoke, "--results", str(tmp_path / "local")])
    finally:
        torch.set_num_threads(threads)
    assert local.exit_code == 0, local.output
    before = dict(os.environ)
    dask = cli_runner.invoke(cli, [*smoke, "--cluster", "local:2", "--results", str(tmp_path / "dask")])
    assert dask.exit_code == 0, dask.output
    workers_only = dask_config.get("distributed.nanny.pre-spawn-environ")  # OMP_NUM_THREADS=1, …
    assert "OMP_NUM_THREADS" in workers_only
    assert {k: os.environ.get(k) for k in workers_only} == {k: before.get(k) for k in workers_only}
    a, b = RunStore(tmp_path / "local" / "smoke"), RunStore(tmp_path / "dask" / "smoke")
    assert a.manifest().executor == "local" and b.manifest().executor == "dask local:2"
    compared = cli_runner.invoke(cli, ["compare", str(a.path), str(b.path)])
    assert compared.exit_code == 0 and "within 0 on 4 shared models" in compared.output, compared.output
    for store in a.cell_stores():
        other = b.cell_store(store.path.name)
        mine, theirs = store.load_model(), other.load_model()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
        assert store.log_path.read_bytes() == other.log_path.read_bytes()


def _pids(client: Client) -> dict[str, int]:
    return client.run(os.getpid)


def test_a_worker_killed_mid_pack_the_pack_resumes_elsewhere_with_the_same_bits(tmp_path, cluster, reference):
    running, client = cluster
    run_dir = tmp_path / "killed" / "faults"
    args = command(tmp_path, "killed", "--scheduler", running.scheduler_address)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    victim = None
    while proc.poll() is None and victim is None:
        for checkpoint in run_dir.glob("packs/*/checkpoint.pt"):  # a pack mid-training
            pack = checkpoint.parent.name
            busy = [w for w, keys in client.processing().items() if any(pack in str(k) for k in keys)]
            if busy:
                victim = (busy[0], _pids(client)[busy[0]], pack)
                os.kill(victim[1], signal.SIGKILL)
                break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=300)
    assert victim is not None, "the run ended before a worker could be killed"
    assert proc.returncode == 0, err
    assert (run_dir / "packs" / victim[2]).is_dir()
    assert victim[1] not in _pids(client).values()  # that process is gone; its task ran elsewhere
    assert_same(snapshot(run_dir), reference[0])  # every cell trained, each curve once


def _steps(run_dir) -> tuple[dict[str, int], dict[str, int]]:
    """Each cell's last logged step, and each pack's checkpoint step."""
    logged = {
        p.parent.name: int(float(p.read_text().splitlines()[-1].split(",")[0]))
        for p in run_dir.glob("cells/*/train_log.csv")
        if len(p.read_text().splitlines()) > 1
    }
    checkpoints = run_dir.glob("packs/*/checkpoint.pt")
    saved = {p.parent.name: int(torch.load(p, weights_only=True)["step"]) for p in checkpoints}
    return logged, saved


def test_the_client_killed_mid_run_the_same_command_finishes_it_with_the_same_bits(tmp_path, cluster, reference):
    """The client killed -9: its tasks may still run on the workers; the same command, run again,
    waits for what they hold and finishes the run."""
    running, _ = cluster
    args = command(tmp_path, "client", "--scheduler", running.scheduler_address)
    run_dir = tmp_path / "client" / "faults"
    assert launch(args, kill_at_progress=(run_dir, 12, 0.0)) == -signal.SIGKILL
    run = RunStore(run_dir)
    logged, saved = _steps(run_dir)
    statuses = {s.path.name: s.status() for s in run.cell_stores()}
    assert [s.status for s in statuses.values()].count("trained") < 4
    for cell, step in logged.items():  # the rerun trains again only what followed the last checkpoint
        pack = statuses[cell].pack
        if statuses[cell].status != "trained" and step >= 7:
            assert saved.get(pack, 0) >= step - 7, (step, saved.get(pack))
    finish(args)
    assert_same(snapshot(run_dir), reference[0])


def _evaluations(run_dir) -> dict:
    """Every model's evaluation records: status and values, by cell, snapshot step and key."""
    return {
        (store.path.name, model.step, r.metric, r.key): (r.status, r.values)
        for store in RunStore(run_dir).cell_stores()
        for model in store.models()
        for r in model.evaluations()
    }


def test_evaluate_on_the_cluster_killed_midway_then_rerun_gives_the_records_of_a_local_evaluation(
    tmp_path, cluster, reference
):
    """``evaluate --scheduler``: a job per model on the workers; its client killed -9 after the
    first new record, the same command computes what is missing, and every record equals an
    evaluation in this process on one thread (as the workers run)."""
    running, _ = cluster
    metrics = ["--metrics", "sap", "--option", "sap.num_train=200", "--option", "sap.num_test=100", "--no-progress"]
    local, remote = tmp_path / "local", tmp_path / "remote"
    for folder in (local, remote):
        shutil.copytree(reference[1], folder)
    before = progress(remote)
    args = [sys.executable, str(KILLER), "evaluate", str(remote), *metrics, "--scheduler", running.scheduler_address]
    assert launch(args, kill_at_progress=(remote, before + 1, 0.0)) == -signal.SIGKILL
    assert before < progress(remote) < before + 12  # some of the twelve models' records, not all
    finish(args)
    finish([sys.executable, str(KILLER), "evaluate", str(local), *metrics], threads=1)
    found, expected = _evaluations(remote), _evaluations(local)
    assert len(expected) == 12 * 3 and found == expected


WORKER_ONLY = """
from distributed import get_worker

def on_a_worker():
    try:
        get_worker()
    except ValueError:
        return False
    return True
"""

PLUGIN_MISSING_ON_WORKERS = (
    WORKER_ONLY
    + """
if on_a_worker():
    raise ImportError("No module named 'lab_only_lib'")
"""
)

DATASET_MISSING_ON_WORKERS = (
    WORKER_ONLY
    + """
from benchbench.api import DatasetError, datasets
from benchbench.datasets.shapes2d import Shapes2D


@datasets.register("lab_shapes")
class LabShapes(Shapes2D):
    def __init__(self):
        if on_a_worker():
            raise DatasetError("lab_shapes: /data/lab_shapes.h5 is not on this machine")
        super().__init__()
"""
)


@pytest.mark.parametrize(
    "plugin,dataset,cause",
    [
        (PLUGIN_MISSING_ON_WORKERS, "shapes2d", "line 12: ImportError: No module named 'lab_only_lib'"),
        (DATASET_MISSING_ON_WORKERS, "lab_shapes", "lab_shapes: /data/lab_shapes.h5 is not on this machine"),
    ],
)
def test_a_worker_that_cannot_import_a_plugin_or_open_the_dataset_stops_the_run_in_one_line(
    tmp_path, cli_runner, cluster, plugin, dataset, cause
):
    running, _ = cluster
    (tmp_path / "lab.py").write_text(plugin)
    sweeps = [{**sweep, "datasets": [dataset]} for sweep in SPEC["sweep"]]
    write_grid(tmp_path / "grid.toml", {**SPEC, "sweep": sweeps})
    args = ["run", "--grid", str(tmp_path / "grid.toml"), "--plugin", str(tmp_path / "lab.py"), "--no-progress",
            "--scheduler", running.scheduler_address, "--results", str(tmp_path)]  # fmt: skip
    out = cli_runner.invoke(cli, args)
    assert_one_line_error(out, "Error: worker tcp://127.0.0.1:", cause, "the run stopped, no cell was marked failed")
    statuses = [s.status().status for s in RunStore(tmp_path / "faults").cell_stores()]
    assert statuses == ["pending"] * 4


def test_a_second_client_on_a_run_is_refused_in_one_line(tmp_path, cli_runner, cluster):
    running, _ = cluster
    run = RunStore(tmp_path / "smoke")
    with run.writing("benchbench run --grid smoke --cluster local:2"):
        args = ["run", "--grid", "smoke", "--scheduler", running.scheduler_address, "--results", str(tmp_path)]
        out = cli_runner.invoke(cli, args)
    assert_one_line_error(out, f"Error: {run.path} is being written by another benchbench", "--cluster local:2")


def test_a_duplicated_task_waits_for_the_first_and_trains_nothing_again(tmp_path, reference, capfd):
    """As when Dask runs a task a second time while the first still runs: the second holds the
    cells only once the first lets them go, finds them trained, and writes nothing."""
    run = RunStore(shutil.copytree(reference[1], tmp_path / "faults"))
    before = {p: p.stat().st_mtime_ns for p in run.path.rglob("*") if p.is_file() and p.name != CLAIM}
    pack = run.pack_stores()[0]
    configs = [run.cell_store(i).cell().config() for i in pack.cells()]
    job = PackJob(str(run.path), configs, "cpu", pack=pack.id, evaluations=run.manifest().evaluations)
    first = FileLock(run.cell_store(pack.cells()[1]).path / CLAIM)  # the first task, still running
    first.acquire()
    second = threading.Thread(target=run_pack, args=(job,))
    second.start()
    second.join(1.0)
    assert second.is_alive()  # waiting for the first
    first.release()
    second.join(60)
    assert not second.is_alive()
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert f"waiting for cells/{pack.cells()[1]}: another job of this run holds it" in capfd.readouterr().err


def test_a_worker_that_cannot_write_the_results_folder_is_a_setup_error(tmp_path, cell):
    (tmp_path / "not-a-folder").write_text("")
    job = PackJob(str(tmp_path / "not-a-folder" / "run"), [cell().config()], "cpu")
    with pytest.raises(SetupError, match="cannot write to .*not-a-folder/run: Not a directory"):
        run_pack(job)


def test_a_gpu_per_pack_on_a_worker(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with a_free_gpu() as first, a_free_gpu() as second:
        assert (first, second) == ("cuda:0", "cuda:1")
        with pytest.raises(SetupError, match="no free GPU"), a_free_gpu():
            pass
    with a_free_gpu() as again:
        assert again == "cuda:0"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--cluster", "local:0"], "--cluster takes local:N (N worker processes), got 'local:0'"),
        (["--cluster", "slurm"], "--cluster takes local:N"),
        (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS|FILE or --cluster local:N"),
        (["--executor", "local", "--cluster", "local:2"], "--executor local runs on this machine: drop --cluster"),
        (["--scheduler", "x", "--cluster", "local:2"], "--scheduler and --cluster: give one"),
        (["--scheduler", "no-such-scheduler.json"], "cannot reach the Dask scheduler 'no-such-scheduler.json'"),
    ],
)
def test_bad_cluster_options_are_one_line(tmp_path, cli_runner, args, message):
    out = cli_runner.invoke(cli, ["run", "--grid", "smoke", "--results", str(tmp_path), *args])
    assert_one_line_error(out, message)
    assert not (tmp_path / "smoke").exists()


def test_local_workers_parses_local_n():
    assert local_workers("local:3") == 3
    with pytest.raises(BenchbenchError):
        local_workers("local:")
