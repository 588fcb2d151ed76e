"""Shared fixtures: a private dataset cache, tiny cells, and a CLI runner."""

import os
import tempfile

# Keep the test suite's dataset cache out of the user's cache; set before any dataset loads.
os.environ.setdefault("BENCHBENCH_DATA", tempfile.mkdtemp(prefix="benchbench-test-data-"))

import pytest  # noqa: E402
import torch  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from benchbench.core.registry import datasets, methods  # noqa: E402
from benchbench.planning.cells import Cell  # noqa: E402


@pytest.fixture(scope="session")
def shapes():
    return datasets.get("shapes2d")()


def make_cell(
    method="vae", hp=None, seed=0, steps=8, batch_size=8, lr=1e-3, latent_dim=4, arch="conv", precision="fp32", **rest
):
    return Cell(
        dataset="shapes2d",
        method=method,
        hyperparameters=methods.get(method)().resolve(hp or {}),
        seed=seed,
        arch=arch,
        latent_dim=latent_dim,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        precision=precision,
        **rest,
    )


#: A smoke run of the two β-VAEs as one pack: what damage, exit and progress tests start from.
SMOKE = ["--grid", "smoke", "--methods", "beta_vae", "--device", "cpu", "--no-progress", "--pack-size", "16"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished :data:`SMOKE` run (its folder), made once per test module; tests copy it."""
    from benchbench.cli import cli

    root = tmp_path_factory.mktemp("finished")
    out = CliRunner().invoke(cli, ["run", *SMOKE, "--results", str(root)])
    assert out.exit_code == 0, out.output
    return root / "smoke"


@pytest.fixture
def cli_runner():
    return CliRunner()


@pytest.fixture(autouse=True)
def _few_threads():
    # Two pytest-xdist workers on two cores: one thread each, or they fight over the cores.
    torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


@pytest.fixture
def cell():
    """Factory for small shapes2d cells: ``cell(method, hp, seed=…, steps=…, likelihood=…)``."""
    return make_cell


@pytest.fixture
def interrupt_at(monkeypatch):
    """``interrupt_at(step)``: training raises KeyboardInterrupt (a Ctrl-C), or ``error``, on
    reaching ``step``; ``interrupt_at(None)`` restores normal training."""
    from benchbench.training.trainer import PackTrainer

    original = PackTrainer._adam

    def arm(step, error=KeyboardInterrupt):
        def crash(self):
            if self.step == step:
                raise error
            original(self)

        monkeypatch.setattr(PackTrainer, "_adam", original if step is None else crash)

    return arm
