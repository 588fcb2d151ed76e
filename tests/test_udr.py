"""UDR: disentanglement_lib's ``udr_test.py`` cases replayed, and the across-seeds evaluation it
needs — one call per configuration, a record per model naming the models compared, computed
again only when the configuration's trained models change."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from test_evaluations import invoke
from toy import ToyFactors

from benchbench.core.registry import metrics
from benchbench.metrics.udr import lasso_matrix, relative_strength, spearman_matrix
from benchbench.plugin.metric import EvalSpec
from benchbench.plugin.representation import Representation
from benchbench.report.results import described, evaluation_keys, headline_outputs
from benchbench.storage.store import RunStore


def test_relative_strength_replays_disentanglement_libs_cases():
    assert relative_strength(np.eye(3)) == 1.0
    assert relative_strength(np.array([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]])) == pytest.approx(2 / 3)  # lib: 0.6–0.7
    assert relative_strength(np.ones((3, 3))) == pytest.approx(1 / 3)  # lib: 0.3–0.4
    assert relative_strength(np.zeros((3, 3))) == 0.0  # 0/0 counts 0
    # a column of NaN (a constant latent under Spearman) makes its column and every row count 0
    assert relative_strength(np.array([[1.0, np.nan], [0.0, np.nan]])) == pytest.approx((1 / 2 + 0) / 2)


def test_correlation_matrices_replay_disentanglement_libs_cases():
    rs = np.random.RandomState(0)
    a = rs.random_sample((1000, 3))
    np.testing.assert_allclose(spearman_matrix(a, a.copy()), np.eye(3), atol=0.1)
    a = rs.random_sample((1000, 3))
    b = a.copy()
    b[:, 1] = b[:, 0]
    expected = np.array([[1.0, 1, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(spearman_matrix(a, b), expected, atol=0.1)
    exact = [[abs(scipy.stats.spearmanr(a[:, i], b[:, j])[0]) for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(spearman_matrix(a, b), exact, rtol=0, atol=1e-12)  # scipy's, pair by pair
    assert np.isnan(spearman_matrix(np.c_[a[:, :1], np.zeros(1000)], b)[1]).all()  # a constant latent: NaN
    a = rs.random_sample((1000, 3)) * 10.0
    np.testing.assert_allclose(lasso_matrix(a, a.copy()), np.eye(3), atol=0.2)
    a = rs.random_sample((1000, 3)) * 10.0
    b = a.copy()
    b[:, 1] = b[:, 0]
    np.testing.assert_allclose(lasso_matrix(a, b), expected, atol=0.2)


class Codes(Representation):
    """A model whose posterior is given: ``μ = fn(factors)``, ``log σ² = 0``."""

    def __init__(self, fn):
        self.fn = fn

    def posterior_indices(self, dataset, indices):
        mu = self.fn(dataset.index_to_factors(indices).astype(np.float64))
        return mu, np.zeros_like(mu)

    def encode_indices(self, dataset, indices):
        return self.posterior_indices(dataset, indices)[0]


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_a_permuted_sign_flipped_copy_agrees(correlation):
    perm, flip = np.array([2, 0, 3, 1]), np.array([1.0, -1, -1, 1])
    one, two = Codes(lambda f: f), Codes(lambda f: f[:, perm] * flip)
    scores = metrics.get("udr")(ToyFactors(), [one, two], np.random.default_rng(0), correlation=correlation)
    assert [0.8 <= s["udr"] <= 1.0 for s in scores] == [True, True]  # the library's bounds
    assert scores[0]["pairwise"][0, 0] == 0 and scores[0]["pairwise"][0, 1] > 0.8


def test_inactive_latents_are_filtered_as_the_library_does():
    rng = np.random.default_rng(1)

    def one_factor_and_noise(f):  # latent 0 carries factor a; nine latents of near-zero KL
        return np.c_[f[:, :1], 0.001 * rng.random((f.shape[0], 9))]

    models = [Codes(one_factor_and_noise), Codes(one_factor_and_noise)]
    loose = metrics.get("udr")(ToyFactors(), models, np.random.default_rng(0), filter_low_kl=False)
    strict = metrics.get("udr")(ToyFactors(), models, np.random.default_rng(0), filter_low_kl=True)
    assert [0 <= s["udr"] <= 0.2 for s in loose] == [True, True]  # the library's bounds
    assert [0.8 <= s["udr"] <= 1.0 for s in strict] == [True, True]
    assert loose[0]["kl"][0] > 0.01 and (loose[0]["kl"][1:] < 0.01).all()


def _grid(tmp_path, seeds):
    from run_helpers import write_grid

    from benchbench.studies.kumar2018 import smoke_grid

    spec = smoke_grid()
    spec.update(name="udr", seeds=seeds, metrics={"udr": {"num_data_points": 200}, "mig": {"num_train": 200}})
    spec["sweep"] = [spec["sweep"][0], {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": 2}}]
    return write_grid(tmp_path / f"udr{len(seeds)}.toml", spec)


def test_udr_runs_per_configuration_and_again_only_when_its_seeds_change(tmp_path, cli_runner):
    args = ["--device", "cpu", "--no-progress", "--results", str(tmp_path)]
    invoke(cli_runner, "run", "--grid", str(_grid(tmp_path, [0, 1])), *args)
    run, key = RunStore(tmp_path / "udr"), EvalSpec.of("udr", {"num_data_points": 200}).key
    stores = run.cell_stores()
    by_config = {}
    for store in stores:
        by_config.setdefault(store.cell().method, []).append(store)
    for pair in by_config.values():
        records = [s.evaluation("udr", key) for s in sorted(pair, key=lambda s: s.cell().seed)]
        ids = [s.path.name for s in sorted(pair, key=lambda s: s.cell().seed)]
        assert [r.status for r in records] == ["done", "done"] and all(r.models == ids for r in records)
        pairwise = pair[0].artifact("udr", key, "pairwise")
        assert pairwise.shape == (2, 2) and records[0].values["udr"] == pairwise[1, 0]  # the median of one pair
        assert records[1].values["udr"] == pairwise[0, 1]
    invoke(cli_runner, "report", str(run.path), "--format", "csv")
    directions = described(run, evaluation_keys(run)[0])
    values = [c.removesuffix(".mean") for c in pd.read_csv(run.path / "report" / "aggregate.csv").columns]
    shown = headline_outputs([v for v in values if v.count(".") == 1], {k: v["better"] for k, v in directions.items()})
    assert {"udr.udr", "mig.mig"} <= set(shown)  # the every-metric overview, beside the per-model metrics
    before = [s.evaluation("udr", key) for s in stores]
    out = invoke(cli_runner, "evaluate", str(run.path), "--device", "cpu", "--no-progress")
    assert out.stdout.startswith("0 evaluations computed") and [s.evaluation("udr", key) for s in stores] == before
    invoke(cli_runner, "run", "--grid", str(_grid(tmp_path, [0, 1, 2])), *args)  # a third seed: UDR again
    for store in run.cell_stores():
        record = store.evaluation("udr", key)
        assert record.status == "done" and len(record.models) == 3
        assert store.artifact("udr", key, "pairwise").shape == (3, 3)


def test_a_configuration_with_one_seed_has_no_udr(tmp_path, cli_runner):
    invoke(cli_runner, "run", "--grid", str(_grid(tmp_path, [0])), "--device", "cpu", "--no-progress",
           "--results", str(tmp_path))  # fmt: skip
    key = EvalSpec.of("udr", {"num_data_points": 200}).key
    records = [s.evaluation("udr", key) for s in RunStore(tmp_path / "udr").cell_stores()]
    assert [r.status for r in records] == ["not_applicable", "not_applicable"]
    assert "this one has 1 trained model" in records[0].error
