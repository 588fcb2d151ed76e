import subprocess
import sys
from pathlib import Path

import pytest
from run_helpers import values, write_grid

from benchbench.cli import cli
from benchbench.core import registry
from benchbench.core.registry import BenchbenchError, Registry
from benchbench.storage.store import RunStore

PLUGIN = (Path(__file__).resolve().parents[1] / "examples" / "l1_vae.py").read_text()

SPEC = {
    "name": "plug",
    "train": {"steps": 4, "batch_size": 8, "latent_dim": 3},
    "metrics": {"reconstruction_error": {"num_images": 16}},
    "sweep": [{"datasets": ["shapes2d"], "method": "l1_vae", "hyperparameters": {"gamma": [0.1, 2.0]}}],
}


def test_registry_lookup_and_close_matches():
    reg = Registry("widget", "benchbench.methods")

    @reg.register("spinner")
    def spinner():
        return 1

    assert reg.get("spinner") is spinner and "spinner" in reg and reg.names() == ["spinner"]
    with pytest.raises(BenchbenchError, match=r"unknown widget 'spiner'; did you mean spinner\?"):
        reg.get("spiner")
    with pytest.raises(BenchbenchError, match="registered twice"):
        reg.register("spinner")(lambda: 2)


def test_every_builtin_plugin_file_registers_and_every_builtin_comes_from_one():
    """Each file of methods/, metrics/ and datasets/ (but a dataset helper) registers what it
    defines, so a file left out of its package's __init__ or a registration lost shows here."""
    root = Path(__file__).resolve().parents[1]
    helpers = {"benchbench.datasets.nuisance"}  # the nuisance the dSprites variants draw, no dataset itself
    for kind, found in (("methods", registry.methods), ("metrics", registry.metrics), ("datasets", registry.datasets)):
        modules = {getattr(obj, "fn", obj).__module__ for _, obj in found}
        defined = {m for m in modules if m.startswith(f"benchbench.{kind}.")}  # not a test's plugin files
        files = {f"benchbench.{kind}.{p.stem}" for p in (root / kind).glob("*.py") if p.stem != "__init__"}
        assert defined == files - helpers, kind
    assert {"vae", "beta_vae", "dip_vae"} <= set(registry.methods.names())


def test_entry_point_plugins_are_loaded(monkeypatch):
    loaded = []

    class FakeEntryPoint:
        def load(self):
            loaded.append(True)

    reg = Registry("gadget", "benchbench.metrics")
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [FakeEntryPoint()] if group == "benchbench.gadgets" else []
    )
    reg.names()
    assert loaded == [True]


def test_plugin_file_adds_a_method_that_runs_in_a_grid(tmp_path, cli_runner):
    plugin = tmp_path / "my_method.py"
    plugin.write_text(PLUGIN)  # a temporary file, outside the package
    grid = write_grid(tmp_path / "plug.toml", SPEC)
    listing = cli_runner.invoke(cli, ["list", "methods", "--plugin", str(plugin)])
    assert listing.exit_code == 0 and "l1_vae" in listing.output and "gamma=1.0" in listing.output
    out = cli_runner.invoke(
        cli,
        [
            "run",
            "--plugin",
            str(plugin),
            "--grid",
            str(grid),
            "--device",
            "cpu",
            "--no-progress",
            "--results",
            str(tmp_path / "results"),
        ],
    )
    assert out.exit_code == 0, out.output
    stores = RunStore(tmp_path / "results" / "plug").cell_stores()
    assert [s.status().status for s in stores] == ["trained", "trained"]
    assert all(values(s)["reconstruction_error"]["mse"] > 0 for s in stores)
    assert "l1" in stores[0].read_log()[0]
    gammas = sorted(s.cell().hyperparameters["gamma"] for s in stores)
    assert gammas == [0.1, 2.0]


AUX_PLUGIN = """
import torch
from torch import nn

from benchbench.api import Auxiliary, Method, methods


@methods.register("critic_vae")
class CriticVAE(Method):
    description = "VAE + alpha * a linear critic's score of z; the critic learns to tell z from N(0, I)"
    hyperparameters = {"alpha": 0.1}

    def auxiliaries(self, static, latent_dim):
        return {"critic": Auxiliary(lambda d: nn.Linear(d, 1), lr=1e-3)}

    def draws(self, static, batch_size, latent_dim, generator):
        return {"prior": torch.randn(batch_size, latent_dim, generator=generator, device=generator.device)}

    def terms(self, static, hp, inputs, state):
        critic = inputs.aux["critic"]
        score = critic(inputs.z).mean()
        critic_loss = critic(inputs.z).mean() - critic(inputs.draws["prior"]).mean()
        return {"regularizer": inputs.kl + hp["alpha"] * score, "score": score, "auxiliary": critic_loss}, state
"""


def test_a_plugin_with_an_auxiliary_network_runs_in_a_grid(tmp_path, cli_runner):
    plugin = tmp_path / "critic.py"
    plugin.write_text(AUX_PLUGIN)
    grid = tmp_path / "aux.toml"
    sweep = {"datasets": ["shapes2d"], "method": "critic_vae", "hyperparameters": {"alpha": [0.1, 2.0]}}
    write_grid(grid, {**SPEC, "name": "aux", "sweep": [sweep]})
    args = ["run", "--plugin", str(plugin), "--grid", str(grid), "--device", "cpu", "--no-progress"]
    out = cli_runner.invoke(cli, [*args, "--results", str(tmp_path / "results"), "--log-every", "2"])
    assert out.exit_code == 0, out.output
    stores = RunStore(tmp_path / "results" / "aux").cell_stores()
    assert [s.status().status for s in stores] == ["trained", "trained"]
    log = stores[0].read_log()
    assert [r["step"] for r in log] == [2, 4] and {"score", "auxiliary"} <= set(log[0])
    assert all(values(s)["reconstruction_error"]["mse"] > 0 for s in stores)


def test_missing_plugin_is_exit_2(cli_runner, tmp_path):
    out = cli_runner.invoke(cli, ["list", "--plugin", str(tmp_path / "nope.py")])
    assert out.exit_code == 2 and "plugin file not found" in out.output
    out = cli_runner.invoke(cli, ["list", "--plugin", "no_such_module_xyz"])
    assert out.exit_code == 2 and "plugin module not found" in out.output


def test_list_prints_names_descriptions_and_defaults(cli_runner):
    out = cli_runner.invoke(cli, ["list"])
    assert out.exit_code == 0
    for text in (
        "dip_vae",
        "variant=i, lambda_od=10.0, lambda_d=derived, cov_estimate=running, momentum=0.9",
        "beta=4.0",
        "reconstruction_error",
        "num_images=None",
        "shapes2d",
        "posY(32)",
        "quick",
        "defined by: Chen et al. 2018; disentanglement_lib evaluation/metrics/mig.py",
        "defined by: Duan et al. 2020; disentanglement_lib evaluation/udr/metrics/udr.py",
        "4 factors (category, elevation, azimuth, lighting), the instance a nuisance",  # a sentence, not a line
    ):
        assert text in out.output
    described = [line[25:] for line in out.output.splitlines() if line[2:3].strip() and line.startswith("  ")]
    assert all(d.count("(") == d.count(")") for d in described)  # no description cut inside parentheses


@pytest.mark.parametrize(
    "source,message",
    [
        ("x = (\n", "line 1: SyntaxError: '(' was never closed"),
        ("import no_such_module_xyz\n", "line 1: ModuleNotFoundError: No module named 'no_such_module_xyz'"),
        ("x = 1\nraise ValueError('bad plugin')\n", "line 2: ValueError: bad plugin"),
        ("class Odd(BaseException): pass\nraise Odd('odd')\n", "line 2: Odd: odd"),
    ],
)
def test_a_broken_plugin_is_one_line_exit_2(cli_runner, tmp_path, source, message):
    plugin = tmp_path / "broken.py"
    plugin.write_text(source)
    for args in (["list"], ["run", "--grid", "smoke", "--results", str(tmp_path / "r")]):
        out = cli_runner.invoke(cli, [*args, "--plugin", str(plugin)])
        assert out.exit_code == 2, out.output
        (line,) = out.output.strip().splitlines()
        assert line.startswith(f"Error: plugin {plugin} failed to import: {message}")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("code", ["0", "'done'"])
def test_a_plugin_that_calls_sys_exit_is_one_line_exit_2(cli_runner, tmp_path, code):
    plugin = tmp_path / "exits.py"
    plugin.write_text(f"import sys\nsys.exit({code})\n")
    out = cli_runner.invoke(cli, ["list", "--plugin", str(plugin)])
    assert out.exit_code == 2
    assert out.output.strip() == f"Error: plugin {plugin} called sys.exit({code}) while being imported"


def test_a_plugin_on_the_first_method_api_is_one_warning_line(tmp_path, cli_runner):
    plugin = tmp_path / "legacy.py"
    plugin.write_text(
        PLUGIN.replace('"l1_vae"', '"legacy_l1_vae"')
        .replace(
            "def terms(self, static, hp, inputs, state):",
            "def regularizer(self, static, hp, kl, mu, logvar, z, state):",
        )
        .replace("inputs.mu", "mu")
        .replace("inputs.kl", "kl")
    )
    out = cli_runner.invoke(cli, ["list", "methods", "--plugin", str(plugin)])
    assert out.exit_code == 0 and "legacy_l1_vae" in out.output, out.output
    warnings = [line for line in out.output.splitlines() if "warning" in line.lower()]
    assert warnings == [
        "warning: method L1VAE: regularizer(static, hp, kl, mu, logvar, z, state) is now terms(static, hp, inputs, "
        "state) (the old form still works)"
    ]


METRIC_PLUGIN = """
import numpy as np

from benchbench.api import better, metrics


@metrics.register("code_spread")
@better(spread="lower")
def code_spread(dataset, model, rng, *, num_images: int = 32):
    codes = model.encode_indices(dataset, rng.choice(len(dataset), num_images, replace=False))
    return {"spread": float(codes.std()), "mean_abs": float(np.abs(codes).mean())}
"""


def test_a_plugin_importing_the_modules_by_their_old_names_loads_with_one_warning_line_each(tmp_path):
    """The plugin API's modules moved into packages; a plugin written against their old names
    (``benchbench.metric``, ``benchbench.registry``) still registers, told where to import from."""
    plugin = tmp_path / "old_names.py"
    plugin.write_text(
        METRIC_PLUGIN.replace('"code_spread"', '"old_spread"').replace(
            "from benchbench.api import better, metrics",
            "from benchbench.metric import better\nfrom benchbench.registry import metrics",
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "benchbench", "list", "metrics", "--plugin", str(plugin)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "old_spread" in out.stdout, out.stderr
    assert [line for line in out.stderr.splitlines() if line.strip()] == [
        "warning: benchbench.metric is now benchbench.plugin.metric: import its names from benchbench.api "
        "(they still load)",
        "warning: benchbench.registry is now benchbench.core.registry: import its names from benchbench.api "
        "(they still load)",
    ]


METRIC_SPEC = {
    "name": "spread",
    "study": "kumar2018",  # its Table 1 picks DIP-VAE rows by the plugin's output
    "train": {"latent_dim": 4, "steps": 4, "batch_size": 8},
    "metrics": {"code_spread": {}},
    "sweep": [{"datasets": ["shapes2d"], "method": "dip_vae", "hyperparameters": {"lambda_od": [1, 10]}}],
}


def test_a_report_reads_a_plugin_metrics_directions_from_the_run_not_the_loaded_plugins(tmp_path, cli_runner):
    plugin, grid = tmp_path / "spread.py", write_grid(tmp_path / "spread.toml", METRIC_SPEC)
    plugin.write_text(METRIC_PLUGIN)
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--plugin", str(plugin), "--device", "cpu",
                                  "--no-progress", "--results", str(tmp_path)])  # fmt: skip
    assert out.exit_code == 0, out.output
    run = RunStore(tmp_path / "spread")
    (entry,) = run.manifest().evaluations
    assert entry["better"] == {"spread": "lower"} and entry["defaults"] is True
    record = run.cell_stores()[0].evaluations()[0]
    assert record.better == {"spread": "lower"} and record.defaults is True
    folders = []
    for name, loaded in (("with", ["--plugin", str(plugin)]), ("without", [])):
        folder = tmp_path / name
        args = ["report", str(run.path), "--out", str(folder), "--select-by", "code_spread.spread", *loaded]
        out = cli_runner.invoke(cli, args)
        assert out.exit_code == 0, out.output
        folders.append(folder)
    files = sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(folders[1]) for p in folders[1].rglob("*") if p.is_file())
    assert all((folders[0] / f).read_bytes() == (folders[1] / f).read_bytes() for f in files)
    page = (folders[1] / "index.html").read_text()
    assert "lowest mean code_spread.spread" in page and "code_spread.mean_abs</th>" not in page
