"""The sampled representation (disentanglement_lib's ``sampled`` postprocessing): an option every
metric takes, handled by the evaluation driver, part of an evaluation's key only when sampled."""

import numpy as np
import pytest
import torch
from test_evaluations import invoke, smoke
from toy import TorchEncoder, ToyFactors

from benchbench.core.registry import BenchbenchError, metrics
from benchbench.plugin.metric import EvalSpec
from benchbench.plugin.representation import ModelView


def test_representation_is_an_option_of_every_metric_and_keys_stay_for_the_mean():
    for name in metrics.names():
        mean = EvalSpec.of(name)
        assert EvalSpec.of(name, {"representation": "mean"}) == mean  # the old key: nothing written out
        sampled = EvalSpec.of(name, {"representation": "sampled"})
        assert sampled.options == {**mean.options, "representation": "sampled"} and sampled.key != mean.key
        assert not sampled.is_default()
    with pytest.raises(BenchbenchError, match=r"mig.representation: must be one of mean, sampled, got 'median'"):
        EvalSpec.of("mig", {"representation": "median"})
    with pytest.raises(BenchbenchError, match=r"allowed: mode, num_bins, num_train, representation"):
        EvalSpec.of("mig", {"bins": 3})


def test_a_sampled_view_draws_mu_plus_sigma_eps_from_its_stream_afresh_each_time():
    data = ToyFactors()
    view = ModelView(TorchEncoder(), torch.device("cpu"))  # μ = the image, log σ² = 0: σ = 1
    sampled = view.sampled(np.random.default_rng(3))
    idx = np.array([5, 3, 5, 300])
    mu = data.images_at(idx).reshape(4, -1)
    eps = np.random.default_rng(3).standard_normal((2, 4, 4), dtype=np.float32)  # the two draws below
    np.testing.assert_allclose(sampled.encode_indices(data, idx), mu + eps[0], atol=1 / 255)
    np.testing.assert_allclose(sampled.encode(data.images_at(idx)), mu + eps[1], atol=1e-6)
    codes = sampled.encode_indices(data, idx)
    assert not np.allclose(codes[0], codes[2])  # one image seen twice: two codes
    assert np.allclose(view.encode_indices(data, idx), mu, atol=1 / 255)  # the mean view is untouched


def test_evaluate_sampled_beside_mean_from_its_own_stream(tmp_path, cli_runner):
    run = smoke(cli_runner, tmp_path)
    invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig", "--option", "mig.representation=sampled")
    store = run.cell_stores()[0]
    mean, sampled = (
        EvalSpec.of("mig", {"num_train": 200}),
        EvalSpec.of("mig", {"num_train": 200, "representation": "sampled"}),
    )
    a, b = store.evaluation("mig", mean.key), store.evaluation("mig", sampled.key)
    assert a.status == b.status == "done" and b.options["representation"] == "sampled"
    assert a.values["mig"] != b.values["mig"]
    invoke(cli_runner, "evaluate", str(run.path), "--metrics", "mig", "--option", "mig.representation=sampled")
    assert store.evaluation("mig", sampled.key) == b  # computed once, kept


def test_a_grid_scoring_both_representations_reports_them_in_columns_of_their_own(tmp_path, cli_runner):
    from run_helpers import write_grid

    from benchbench.report.results import evaluation_keys, status_counts, tidy
    from benchbench.storage.store import RunStore
    from benchbench.studies.kumar2018 import smoke_grid

    spec = smoke_grid()
    spec.update(name="both", representations=["mean", "sampled"], metrics={"mig": {"num_train": 200}})
    spec["sweep"] = spec["sweep"][:1]
    grid = write_grid(tmp_path / "both.toml", spec)
    invoke(cli_runner, "run", "--grid", str(grid), "--device", "cpu", "--no-progress", "--results", str(tmp_path))
    run = RunStore(tmp_path / "both")
    keys, notes = evaluation_keys(run)
    mean, sampled = (
        EvalSpec.of("mig", {"num_train": 200}),
        EvalSpec.of("mig", {"num_train": 200, "representation": "sampled"}),
    )
    assert keys == {"mig": mean.key, "mig@sampled": sampled.key} and not notes
    assert status_counts(run)["evaluations"] == {"done": 2, "failed": 0, "not_applicable": 0, "missing": 0}
    row = tidy(run).iloc[0]
    store = run.cell_stores()[0]
    assert row["mig.mig"] == store.evaluation("mig", mean.key).values["mig"]
    assert row["mig@sampled.mig"] == store.evaluation("mig", sampled.key).values["mig"]
    assert row["mig.mig"] != row["mig@sampled.mig"]
    before = store.evaluations()
    out = invoke(cli_runner, "evaluate", str(run.path), "--device", "cpu", "--no-progress")
    assert out.stdout.startswith("0 evaluations computed") and f"mig@sampled = {sampled.key}" in out.output
    assert store.evaluations() == before  # both kept, none redone
    invoke(cli_runner, "report", str(run.path), "--format", "csv")
    header = (run.path / "report" / "aggregate.csv").read_text().splitlines()[0].split(",")
    assert {"mig.mig.mean", "mig@sampled.mig.mean"} <= set(header)
