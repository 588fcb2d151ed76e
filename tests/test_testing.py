"""The plugin check kit (``benchbench check``, :mod:`benchbench.testing`): the built-in plugins
pass it, and plugins with the faults it names fail it, each in one line, with exit 1."""

import textwrap

import pytest

from benchbench.cli import cli
from benchbench.core.registry import methods, metrics
from benchbench.testing import check_dataset, check_method, check_metric

#: Checked in the everyday loop; every other built-in plugin in the slow one.
QUICK = {"method": ["vae", "dip_vae"], "metric": ["mig", "latent_correlation"], "dataset": ["shapes2d"]}


def assert_passes(checks):
    assert [c.name for c in checks if c.passed is False] == [], [c.line() for c in checks]
    assert any(c.passed for c in checks)


@pytest.mark.parametrize("name", QUICK["method"])
def test_builtin_methods_pass_the_kit(name):
    checks = check_method(name)
    assert_passes(checks)
    assert [c.name for c in checks] == ["hyperparameters", "bounds", "trains packed", "deterministic",
                                        "checkpoint round trip"]  # fmt: skip


@pytest.mark.parametrize("name", QUICK["metric"])
def test_builtin_metrics_pass_the_kit(name):
    assert_passes(check_metric(name))


def test_a_builtin_dataset_passes_the_kit():
    checks = check_dataset("shapes2d")
    assert_passes(checks) and all(c.passed for c in checks)


@pytest.mark.slow
def test_every_other_builtin_plugin_passes_the_kit():
    def builtin(registry, kind: str) -> set[str]:  # not the plugins other tests of this process registered
        return {n for n, obj in registry if getattr(obj, "fn", obj).__module__.startswith(f"benchbench.{kind}.")}

    for name in sorted(builtin(methods, "methods") - set(QUICK["method"])):
        assert_passes(check_method(name))
    for name in sorted(builtin(metrics, "metrics") - set(QUICK["metric"]) - {"dci_es"}):  # dci_es: minutes at fast
        assert_passes(check_metric(name))


FAULTY = '''
import numpy as np
import torch
from benchbench.plugin.method import Method
from benchbench.plugin.metric import better
from benchbench.core.registry import methods, metrics

@metrics.register("kit_unseeded")
@better(score="higher")
def kit_unseeded(dataset, model, rng):
    """Draws from numpy's global generator, not the one it is given."""
    return {"score": float(np.random.random())}

@metrics.register("kit_undirected")
def kit_undirected(dataset, model, rng):
    """Declares no direction."""
    return {"score": 1.0}

@metrics.register("kit_forgets")
@better(score="higher", other="lower")
def kit_forgets(dataset, model, rng):
    """Declares an output it never returns."""
    return {"score": 1.0}

@methods.register("kit_nan")
class KitNaN(Method):
    """Its regulariser is NaN."""
    def terms(self, static, hp, inputs, state):
        return {"regularizer": inputs.kl * float("nan")}, state
'''


def test_faulty_plugins_fail_the_kit_each_in_one_line_with_exit_1(tmp_path, cli_runner):
    plugin = tmp_path / "faulty.py"
    plugin.write_text(textwrap.dedent(FAULTY))
    out = cli_runner.invoke(cli, ["check", str(plugin)])
    assert out.exit_code == 1, out.output
    lines = out.output.splitlines()
    failed = [line.strip() for line in lines if line.strip().startswith("FAILED")]
    assert any("deterministic: the same generator gave other values: score" in f for f in failed)
    assert any("directions: no output declares which way is better" in f for f in failed)
    assert any("runs: declared outputs missing from its result: other" in f for f in failed)
    assert any(f.startswith("FAILED   trains packed: term") and "not finite" in f for f in failed)
    assert lines[-1] == "4 checks failed"
    for name in ("kit_unseeded", "kit_undirected", "kit_forgets"):
        metrics.unregister(name)
    methods.unregister("kit_nan")


def test_check_names_what_it_does_not_know(cli_runner):
    out = cli_runner.invoke(cli, ["check", "nope"])
    assert out.exit_code == 2 and "no method, metric or dataset is registered as 'nope'" in out.output
