"""Train once, evaluate many times: a model's id is its training; evaluations are records of it."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from run_helpers import assert_one_line_error, values, write_grid

from benchbench.cli import cli
from benchbench.core.records import LAYOUT
from benchbench.core.registry import BenchbenchError, metrics
from benchbench.core.runtime import derived_seed
from benchbench.evaluation.evaluate import load_trained
from benchbench.planning.cells import Cell
from benchbench.plugin.metric import EvalSpec
from benchbench.storage.store import RunStore
from benchbench.training.trainer import PackTrainer

OLD_RUN = Path(__file__).parent / "data" / "old_layout_quick"

PLUGIN = '''
import numpy as np
from benchbench.core.registry import metrics


@metrics.register("mean_abs_mu")
def mean_abs_mu(dataset, model, rng, *, num_images: int = 50):
    """Mean |mu| over uniformly drawn images, and the per-latent means as an array."""
    idx = np.sort(rng.choice(len(dataset), num_images, replace=False))
    mu = model.encode(dataset.images_at(idx))
    return {"value": float(np.abs(mu).mean()), "per_latent": np.abs(mu).mean(axis=0)}


@metrics.register("always_fails")
def always_fails(dataset, model, rng, *, num_images: int = 5):
    raise ValueError("no luck with\\nthis model")
'''


def invoke(cli_runner, *args, code=0):
    out = cli_runner.invoke(cli, list(args), catch_exceptions=False)
    assert out.exit_code == code, out.output
    return out


def smoke(cli_runner, tmp_path, *extra):
    invoke(cli_runner, "run", "--grid", "smoke", "--methods", "beta_vae", "--device", "cpu", "--no-progress",
           "--results", str(tmp_path), *extra)  # fmt: skip
    return RunStore(tmp_path / "smoke")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """A finished smoke run that tests leave as they found it."""
    return smoke(CliRunner(), tmp_path_factory.mktemp("smoke"))


def test_options_resolve_to_one_key_and_are_type_checked():
    spec = EvalSpec.of("mig")
    assert spec.options == {"num_train": 10_000, "num_bins": 20, "mode": "default"}
    assert EvalSpec.of("mig", {"num_train": 10_000, "num_bins": 20}).key == spec.key  # defaults written out
    assert EvalSpec.of("mig", {"num_train": 500}).key != spec.key
    assert EvalSpec.of("beta_vae_score").key != EvalSpec("mig", {"num_train": 10_000, "num_bins": 20}).key
    for options, message in [
        ({"num_trian": 5}, "mig.num_trian: unknown key (allowed: mode, num_bins, num_train, representation)"),
        ({"num_train": "lots"}, "mig.num_train: must be an integer, got 'lots'"),
        ({"num_train": 1e4}, "mig.num_train: must be an integer, got 10000.0"),
        ({"mode": "compt"}, "mig.mode: must be one of 'default', 'compat', got 'compt'"),
    ]:
        with pytest.raises(BenchbenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
            EvalSpec.of("mig", options)
    with pytest.raises(BenchbenchError, match="must be a list of strings or none"):
        EvalSpec.of("beta_vae_score", {"factors": "shape"})
    with pytest.raises(BenchbenchError, match="num_images: must be an integer or none, got nan"):
        EvalSpec.of("latent_correlation", {"num_images": float("nan")})


@pytest.mark.slow
def test_run_then_two_evaluates_keep_every_evaluation(tmp_path, cli_runner):
    run = smoke(cli_runner, tmp_path)
    stores = run.cell_stores()
    grid_mig = run.grid_evaluations()["mig"]
    assert grid_mig["options"] == {"num_train": 200, "num_bins": 20, "mode": "default"}
    out = invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig,sap", "--option", "mig.num_train=300",
                 "--option", "sap.num_train=200", "--option", "sap.num_test=100", "--device", "cpu",
                 "--no-progress")  # fmt: skip
    assert "4 evaluations computed" in out.output
    out = invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig", "--profile", "fast", "--no-progress")
    assert "2 evaluations computed" in out.output
    again = invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig", "--profile", "fast", "--no-progress")
    assert "0 evaluations computed" in again.output  # present ones are skipped

    store = stores[0]
    layout = sorted(str(p.relative_to(store.path)) for p in store.path.rglob("*") if p.is_file())
    migs = sorted(p.name for p in (store.path / "evaluations" / "mig").iterdir())
    assert len(migs) == 3 and grid_mig["key"] in migs  # three option sets of one metric coexist
    assert {"config.json", "status.json", "train_log.csv", "model.pt"} <= set(layout)
    assert f"evaluations/mig/{grid_mig['key']}/mutual_information.npy" in layout
    assert sum(name.endswith("evaluation.json") for name in layout) == 6 + 2 + 1
    records = {r.options["num_train"]: r for r in store.evaluations() if r.metric == "mig"}
    assert set(records) == {200, 300, 3000}
    record = records[300]
    assert record.status == "done" and record.key == EvalSpec.of("mig", {"num_train": 300}).key
    assert record.cell == store.path.name and record.device.startswith("cpu") and record.seconds >= 0
    assert record.versions["torch"] == torch.__version__ and record.git_commit is not None
    assert record.artifacts == ["mutual_information", "per_factor"]
    assert set(record.values) == {"mig"} and 0 <= record.values["mig"] <= 1
    mi = np.load(store.evaluation_path("mig", record.key) / "mutual_information.npy")
    assert mi.shape == (4, 5)  # latents × factors

    # the report shows the grid's evaluation by default, another one when asked, never both
    invoke(cli_runner, "report", str(run.path), "--format", "csv")
    cells = pd.read_csv(run.path / "report" / "cells.csv").set_index("cell")
    assert cells.loc[store.path.name, "mig.mig"] == pytest.approx(records[200].values["mig"])
    invoke(cli_runner, "report", str(run.path), "--format", "csv,html", "--evaluation", f"mig={record.key[:6]}")
    cells = pd.read_csv(run.path / "report" / "cells.csv").set_index("cell")
    assert cells.loc[store.path.name, "mig.mig"] == pytest.approx(record.values["mig"])
    assert "sap.sap" in cells.columns  # evaluated once, with one option set: shown
    page = (run.path / "report" / "index.html").read_text()
    assert record.key in page and "num_train=300" in page
    bad = invoke(cli_runner, "report", str(run.path), "--evaluation", "mig=ffffff", code=2)
    assert "--evaluation mig=ffffff: matches no evaluation" in bad.output

    status = invoke(cli_runner, "status", str(run.path))
    assert "models 2 trained, 0 running, 0 failed (0 diverged), 0 pending" in status.output
    assert "evaluations 18 done, 0 failed, 0 missing" in status.output


@pytest.mark.slow
def test_a_metric_with_several_option_sets_and_no_grid_choice_is_left_out(tmp_path, cli_runner):
    run = smoke(cli_runner, tmp_path)
    for n in ("100", "150"):
        invoke(cli_runner, "evaluate", str(run.path), "--metrics", "sap", "--option", f"sap.num_train={n}",
               "--option", "sap.num_test=50", "--no-progress")  # fmt: skip
    out = invoke(cli_runner, "report", str(run.path), "--format", "csv")
    assert "note: sap: evaluated with 2 option sets" in out.output and "--evaluation sap=KEY" in out.output
    assert not any(c.startswith("sap.") for c in pd.read_csv(run.path / "report" / "cells.csv").columns)


def test_run_reuses_trained_models_and_adds_only_the_new_metric(tmp_path, cli_runner, monkeypatch):
    run = smoke(cli_runner, tmp_path)
    before = {s.path.name: (s.model_path.stat().st_mtime_ns, len(s.evaluations())) for s in run.cell_stores()}
    grid = tmp_path / "more.toml"
    write_grid(
        grid,
        {
            "name": "smoke",
            "train": {"latent_dim": 4, "steps": 6, "batch_size": 8, "lr": 1e-3},
            "metrics": {"reconstruction_error": {"num_images": 64}, "sap": {"num_train": 200, "num_test": 100}},
            "sweep": [{"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": [2, 8]}}],
        },
    )

    def no_training(*args, **kwargs):
        raise AssertionError("a trained model was trained again")

    monkeypatch.setattr(PackTrainer, "__init__", no_training)
    invoke(cli_runner, "run", "--grid", str(grid), "--device", "cpu", "--no-progress", "--results", str(tmp_path))
    stores = run.cell_stores()
    assert {s.path.name for s in stores} == set(before)  # the same cells: same training, same ids
    for store in stores:
        assert store.model_path.stat().st_mtime_ns == before[store.path.name][0]
        assert len(store.evaluations()) == before[store.path.name][1] + 1  # reconstruction_error was there
        assert 0 <= values(store)["sap"]["sap"] <= 1


@pytest.mark.slow
def test_a_new_metric_plugin_evaluates_an_old_run_and_shows_in_the_report(tmp_path, cli_runner):
    run = smoke(cli_runner, tmp_path)
    plugin = tmp_path / "my_metric.py"
    plugin.write_text(PLUGIN)
    out = invoke(cli_runner, "evaluate", str(run.path), "--plugin", str(plugin),
                 "--metrics", "mean_abs_mu,always_fails", "--no-progress", code=1)  # fmt: skip
    assert "2 evaluations computed in" in out.output and "(2 failed)" in out.output  # done and failed apart
    assert "evaluations 14 done, 2 failed, 0 missing" in out.output
    assert "evaluation always_fails failed: shapes2d/beta_vae(beta=2)/s0: ValueError: no luck with" in out.output
    for store in run.cell_stores():
        (failed,) = [r for r in store.evaluations() if r.metric == "always_fails"]
        assert failed.status == "failed" and "Traceback" in failed.traceback
        # the plugin's value, computed again here from the trained model
        _, dataset, model = load_trained(run.path, store.path.name, torch.device("cpu"))
        spec = EvalSpec.of("mean_abs_mu")
        record = store.evaluation("mean_abs_mu", spec.key)
        rng = np.random.default_rng(derived_seed(store.cell().seed, "metric:mean_abs_mu"))
        idx = np.sort(rng.choice(len(dataset), 50, replace=False))
        expected = np.abs(model.encode(dataset.images_at(idx)).astype(np.float64)).mean()
        assert record.values["value"] == pytest.approx(expected, rel=1e-6)
        assert store.artifact("mean_abs_mu", spec.key, "per_latent").shape == (4,)
    out = invoke(cli_runner, "report", str(run.path))  # reading records needs no plugin
    cells = pd.read_csv(run.path / "report" / "cells.csv")
    assert cells["mean_abs_mu.value"].notna().all()
    page = (run.path / "report" / "index.html").read_text()
    assert "mean_abs_mu.value" in page and "always_fails" not in page
    # --retry-failed tries a failed evaluation again; without it, it stays failed
    out = invoke(cli_runner, "evaluate", str(run.path), "--plugin", str(plugin), "--metrics", "always_fails",
                 "--retry-failed", "--no-progress", code=1)  # fmt: skip
    assert "0 evaluations computed in" in out.output and "(2 failed)" in out.output  # tried again, failed again
    metrics.unregister("mean_abs_mu")
    metrics.unregister("always_fails")


def test_evaluate_killed_midway_continues_where_it_stopped(tmp_path, cli_runner, monkeypatch):
    run = smoke(cli_runner, tmp_path)
    calls, sap = [], metrics.get("sap")

    def interrupted_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return sap(*args, **kwargs)

    args = ["evaluate", str(run.path), "--metrics", "sap", "--option", "sap.num_train=100", "--option",
            "sap.num_test=50", "--no-progress"]  # fmt: skip
    monkeypatch.setitem(metrics._items, "sap", dataclasses.replace(sap, fn=interrupted_once))  # the same options
    assert cli_runner.invoke(cli, args).exit_code != 0  # Ctrl-C during the second model's sap
    done = [s for s in run.cell_stores() if any(r.metric == "sap" for r in s.evaluations())]
    assert len(done) == 1
    first = done[0].evaluations()
    out = invoke(cli_runner, *args)
    assert "1 evaluations computed" in out.output and len(calls) == 3
    assert done[0].evaluations() == first  # kept as it was


@pytest.mark.parametrize(
    "args,message",
    [
        (["--option", "mig.num_train"], "--option takes METRIC.OPTION=VALUE, got 'mig.num_train'"),
        (["--option", "num_train=5"], "--option takes METRIC.OPTION=VALUE"),
        (["--option", "mig.num_train=lots"], "--option mig.num_train: must be an integer, got 'lots'"),
        (["--option", "mig.num_trian=5"], "--option mig.num_trian: unknown key"),
        (["--option", "sap.num_train=5"], "--option sap.…: sap is not evaluated here"),
        (["--metrics", "mig_score"], "unknown metric 'mig_score'"),
        (["--profile", "fastest"], "unknown metric profile 'fastest'"),
        (["--datasets", "celeba"], "has no dataset celeba"),
    ],
)
def test_bad_evaluate_input_is_one_line_exit_2_nothing_written(smoke_run, cli_runner, args, message):
    run = smoke_run
    before = sorted(p for p in run.path.rglob("*"))
    out = invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig", *args, "--no-progress", code=2)
    assert_one_line_error(out, message)
    assert sorted(p for p in run.path.rglob("*")) == before


@pytest.mark.slow
def test_an_old_run_is_refused_then_migrated_keeping_every_number(tmp_path, cli_runner):
    old = tmp_path / "quick"
    shutil.copytree(OLD_RUN, old)
    configs = {p.parent.name: json.loads(p.read_text()) for p in old.glob("cells/*/config.json")}
    numbers = {p.parent.name: json.loads(p.read_text()) for p in old.glob("cells/*/metrics.json")}
    for command in ("status", "report", "evaluate"):
        out = invoke(cli_runner, command, str(old), code=2)
        assert out.output.strip() == (
            f"Error: {old} was written by an older benchbench (metrics inside each cell's config); "
            f"convert it with: benchbench migrate {old}"
        )
    out = invoke(cli_runner, "migrate", str(old))
    assert f"{old}: 3 cells converted" in out.output
    run = RunStore(old)
    manifest = run.manifest()
    assert manifest.layout == LAYOUT and {e["metric"] for e in manifest.evaluations} == set(
        next(iter(numbers.values()))
    )
    for old_id, config in configs.items():
        options = config.pop("metrics")
        store = run.cell_store(Cell.from_config(config).id)
        assert store.path.name != old_id and store.status().status == "trained"
        assert json.loads(store.config_path.read_text()) == config
        assert not (store.path / "metrics.json").exists() and not (store.path / "artifacts").exists()
        for metric, expected in numbers[old_id].items():
            record = store.evaluation(metric, EvalSpec.of(metric, options[metric]).key)
            assert record.status == "done" and record.seconds == expected.pop("seconds")
            assert record.values == expected and record.migrated_from == "metrics.json"
        old_matrix = np.load(OLD_RUN / "cells" / old_id / "artifacts" / "latent_correlation.latent_latent.npy")
        key = EvalSpec.of("latent_correlation", options["latent_correlation"]).key
        assert np.array_equal(store.artifact("latent_correlation", key, "latent_latent"), old_matrix)
    assert sorted(manifest.cells) == sorted(s.path.name for s in run.cell_stores())
    assert "already in the current layout" in invoke(cli_runner, "migrate", str(old)).output
    status = invoke(cli_runner, "status", str(old))
    assert "models 3 trained" in status.output and "evaluations 24 done, 0 failed, 0 missing" in status.output
    out = invoke(cli_runner, "report", str(old), "--format", "csv")
    table1 = pd.read_csv(old / "report" / "table1.csv").set_index("method")
    assert table1.loc["VAE", "metric.mean"] == 48.8  # the old reference run's Higgins score, kept
