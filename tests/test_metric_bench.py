"""``bench --metrics``: each metric's seconds split into the network's and the rest, on codes and on
a trained model; and the cache that lets a model's images be encoded once for every metric."""

import numpy as np
import pytest
import torch
from run_helpers import assert_one_line_error

from benchbench.cli import cli
from benchbench.evaluation.bench import INFORMATIVE, bench_metrics, synthetic_codes, time_metric
from benchbench.evaluation.evaluate import load_trained


def test_synthetic_codes_are_a_fixed_noisy_function_of_the_factors(shapes):
    codes = synthetic_codes(shapes, seed=3)
    assert codes.codes.shape == (len(shapes), 10) and codes.codes.dtype == np.float32
    np.testing.assert_array_equal(codes.codes, synthetic_codes(shapes, seed=3).codes)
    rows = np.random.default_rng(0).choice(len(shapes), 2000, replace=False)
    factors = shapes.index_to_factors(rows).astype(np.float64)
    x = codes.encode_indices(shapes, rows).astype(np.float64)
    for j in range(INFORMATIVE):  # latent j is factor j in [0, 1] plus N(0, 0.1²) noise
        residual = x[:, j] - factors[:, j] / (shapes.factor_sizes[j] - 1)
        assert abs(residual.mean()) < 0.01 and residual.std(ddof=1) == pytest.approx(0.1, rel=0.06)
    assert np.abs(np.corrcoef(x[:, INFORMATIVE:].T, factors.T)[: 10 - INFORMATIVE, -5:]).max() < 0.08


def test_codes_cost_no_network_and_a_model_splits_its_seconds(shapes, finished):
    row = time_metric("mig", shapes, synthetic_codes(shapes), profile="fast")
    assert row["status"] == "done" and row["network_s"] == 0 and row["images_encoded"] == 0
    assert row["rest_s"] == pytest.approx(row["seconds"], abs=2e-3)
    _, dataset, view = load_trained(finished, None, torch.device("cpu"))
    rows = bench_metrics(["mig", "reconstruction_error"], dataset, view, profile="fast",
                         representations=("mean", "sampled"))  # fmt: skip
    assert [r["metric"] for r in rows] == ["mig", "reconstruction_error", "mig@sampled", "reconstruction_error@sampled"]
    mig, recon, mig_sampled, _ = rows
    assert mig["images_encoded"] > 0 and mig["network_s"] > 0
    assert mig_sampled["images_encoded"] == 0  # the same draws, μ and log σ² from the mean's cache
    assert recon["network_s"] > 0  # decoding counts as the network's
    for r in rows:
        assert r["status"] == "done" and r["network_s"] + r["rest_s"] == pytest.approx(r["seconds"], abs=2e-3)
    assert view.images_encoded == sum(r["images_encoded"] for r in rows)


def test_a_cached_code_is_the_networks_within_rounding_and_the_same_requests_give_the_same_bits(shapes, finished):
    """The cache encodes each request's new images in batches of their own.  On this CPU (AVX2)
    a convolution's rounding depends on its batch, so an image's code can differ in its last bit
    from the code of that image encoded alone (measured: 8 of 28 values, by up to 3e-8); the same
    requests in the same order give the same bits."""
    store, dataset, view = load_trained(finished, None, torch.device("cpu"))
    rows = np.random.default_rng(1).choice(len(dataset), 3000, replace=True)
    mu, logvar = view.posterior_indices(dataset, rows)
    net = store.load_net(dataset.image_shape).eval()
    for where in (np.arange(7), np.arange(1500, 1531), [2999]):
        with torch.no_grad():
            alone = [t.numpy() for t in net.encode(torch.as_tensor(dataset.images_at(rows[where])).float())]
        np.testing.assert_allclose(mu[where], alone[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(logvar[where], alone[1], rtol=1e-5, atol=1e-6)
    again = load_trained(finished, None, torch.device("cpu"))[2].posterior_indices(dataset, rows)
    np.testing.assert_array_equal(again[0], mu)
    np.testing.assert_array_equal(again[1], logvar)


def test_bench_metrics_on_the_command_line(finished, cli_runner):
    out = cli_runner.invoke(cli, ["bench", "--metrics", "mig", "--profile", "fast", "--run", str(finished),
                                  "--device", "cpu", "--no-progress"])  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["scored", "metric", "status", "seconds", "network_s", "rest_s", "images_encoded"]
    assert [line.split()[-6] for line in lines[1:4]] == ["mig", "mig", "mig@sampled"]
    assert lines[1].strip().startswith("synthetic codes (seed 0)")
    for args, message in [
        (["--run", str(finished)], "--run, --cell and --profile time metrics: name them with --metrics"),
        (["--metrics", "migg"], "unknown metric 'migg'"),
        (["--metrics", "mig", "--cell", "abc"], "--cell names a model of a run: give --run too"),
    ]:
        bad = cli_runner.invoke(cli, ["bench", *args])
        assert bad.exit_code == 2
        assert_one_line_error(bad, message)
