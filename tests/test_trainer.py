import dataclasses
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from benchbench.core.registry import methods
from benchbench.plugin.method import Method
from benchbench.storage.checkpoint import PackCheckpoint
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.trainer import PackTrainer, TrainSettings

SETTINGS = TrainSettings(checkpoint_every=4, log_every=2, progress=False)


def trained(cells, shapes, root, settings=SETTINGS):
    """The trainer after training ``cells`` as one pack under ``root``, and each model's weights."""
    stores = [CellStore(root / c.id) for c in cells]
    trainer = PackTrainer(cells, stores, shapes, torch.device("cpu"), settings, PackStore(root / "pack"))
    return trainer, {c.id: sd for c, _, sd in trainer.train()}


def train(cells, shapes, root, settings=SETTINGS):
    return trained(cells, shapes, root, settings)[1]


def auxiliary(trainer, cell):
    """One model's auxiliary networks' parameters from a trained pack."""
    i = [c.id for c in trainer.cells].index(cell.id)
    return {k: p[i].detach() for k, p in trainer.aux.items()}


def max_diff(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def assert_close_as_rounding_allows(a, b):
    """Pack and alone round differently (grouped vs. plain convolution); Adam turns a rounding
    difference in a gradient component near zero into up to one step (lr) in that parameter.
    Measured on two CPUs: typically ≤ 2e-7 everywhere; once (FactorVAE, γ = 40) 0.16 % of the
    parameters beyond 1e-6, at most 2.2e-5.  A real difference (other data, other hyperparameters,
    mixed models) moves most parameters by more than 1e-3."""
    diffs = torch.cat([(a[k] - b[k]).abs().flatten() for k in a])
    assert diffs.max().item() < 1e-4 and (diffs > 1e-6).float().mean().item() < 0.01, diffs.max().item()


@pytest.mark.parametrize(
    "method,hps",
    [
        ("dip_vae", [{"lambda_od": 1}, {"lambda_od": 20}, {"lambda_od": 5, "momentum": 0.5}]),
        ("beta_vae", [{"beta": 1}, {"beta": 4}, {"beta": 16}]),
        pytest.param("factor_vae", [{"gamma": 10}, {"gamma": 40}, {"gamma": 100}], marks=pytest.mark.slow),
        ("beta_tc_vae", [{"beta": 1}, {"beta": 4}, {"beta": 10}]),
        (
            "annealed_vae",
            [{"c_max": 5, "iteration_threshold": 4}, {"c_max": 25, "iteration_threshold": 8}, {"gamma": 100}],
        ),
    ],
)
def test_pack_equals_cells_trained_alone(cell, shapes, tmp_path, method, hps):
    cells = [cell(method, hp, seed=s, steps=10, lr=1e-4) for s, hp in enumerate(hps)]
    pack, packed = trained(cells, shapes, tmp_path / "pack")
    for c in cells:
        alone, weights = trained([c], shapes, tmp_path / "alone")
        assert_close_as_rounding_allows(packed[c.id], weights[c.id])
        if method == "factor_vae":  # the discriminator too, trained beside each model
            assert_close_as_rounding_allows(auxiliary(pack, c), auxiliary(alone, c))
    assert max_diff(packed[cells[0].id], packed[cells[1].id]) > 1e-3  # the models really differ


def test_same_seed_same_result_different_seed_differs(cell, shapes, tmp_path):
    a = train([cell("vae", seed=1)], shapes, tmp_path / "a")
    b = train([cell("vae", seed=1)], shapes, tmp_path / "b")
    c = train([cell("vae", seed=2)], shapes, tmp_path / "c")
    (ka,), (kc,) = a, c
    assert max_diff(a[ka], b[ka]) == 0.0
    assert max_diff(a[ka], c[kc]) > 1e-3


def test_resume_from_checkpoint_equals_uninterrupted(cell, shapes, tmp_path, interrupt_at):
    c = cell("dip_vae", {"lambda_od": 5}, steps=10)
    straight = train([c], shapes, tmp_path / "straight")[c.id]
    store, pack = CellStore(tmp_path / "crash" / c.id), PackStore(tmp_path / "crash" / "pack")
    interrupt_at(7)
    with pytest.raises(KeyboardInterrupt):
        train([c], shapes, tmp_path / "crash")
    interrupt_at(None)
    assert [r["step"] for r in store.read_log()] == [2, 4, 6]  # written as it trains
    ckpt = torch.load(pack.checkpoint_path, weights_only=True)
    assert ckpt["step"] == 4 and ckpt["cells"] == [c.id] and ckpt["since_log"] == 0
    assert set(ckpt) == {f.name for f in dataclasses.fields(PackCheckpoint)}  # every field, saved
    assert set(ckpt["params"]) == set(ckpt["adam_m"]) == set(ckpt["adam_v"]) and set(ckpt["state"]) == {"cov", "seen"}
    assert ckpt["aux"] == {} and len(ckpt["rng"]) == 1  # DIP-VAE trains no auxiliary network; one model
    resumed = train([c], shapes, tmp_path / "crash")[c.id]
    assert max_diff(straight, resumed) == 0.0
    assert not pack.checkpoint_path.exists() and store.model_path.exists()
    log = store.read_log()
    assert log == CellStore(tmp_path / "straight" / c.id).read_log()  # the same curve, to the bit
    assert [r["step"] for r in log] == [2, 4, 6, 8, 10]
    assert set(log[0]) == {"step", "loss", "reconstruction", "kl", "regularizer", "dip_offdiag", "dip_diag"}
    assert all(math.isclose(r["loss"], r["reconstruction"] + r["regularizer"], rel_tol=1e-5) for r in log)


class Explode(Method):
    """KL + log(scale): scale = 0 makes the loss −inf from the first step."""

    hyperparameters = {"scale": 1.0}

    def terms(self, static, hp, inputs, state):
        return {"regularizer": inputs.kl + torch.log(hp["scale"])}, state


if "test_explode" not in methods:
    methods.register("test_explode")(Explode)


def test_diverged_model_is_dropped_and_others_go_on(cell, shapes, tmp_path):
    cells = [
        cell("test_explode", {"scale": 1}, seed=0, steps=6, lr=1e-4),
        cell("test_explode", {"scale": 0}, seed=1, steps=6, lr=1e-4),
        cell("test_explode", {"scale": 2}, seed=2, steps=6, lr=1e-4),
    ]
    alone = train([cells[2]], shapes, tmp_path / "alone")[cells[2].id]
    out = train(cells, shapes, tmp_path / "pack")
    assert set(out) == {cells[0].id, cells[2].id}
    status = CellStore(tmp_path / "pack" / cells[1].id).status()
    assert status.status == "diverged" and status.step == 2
    assert max_diff(out[cells[2].id], alone) < 1e-5


def test_a_pack_whose_every_model_diverges_ends_cleanly(cell, shapes, tmp_path):
    cells = [cell("test_explode", {"scale": 0}, seed=s, steps=6, lr=1e-4) for s in (0, 1)]
    assert train(cells, shapes, tmp_path) == {}
    for c in cells:
        status = CellStore(tmp_path / c.id).status()
        assert status.status == "diverged" and status.step == 2 and "loss became -inf" in status.error
    assert not PackStore(tmp_path / "pack").checkpoint_path.exists()


@pytest.mark.parametrize("method,hp", [("factor_vae", {"gamma": 20}), ("annealed_vae", {"iteration_threshold": 6})])
def test_a_resumed_method_with_step_or_auxiliary_network_ends_bit_identical(
    cell, shapes, tmp_path, interrupt_at, method, hp
):
    c = cell(method, hp, steps=10)
    straight, weights = trained([c], shapes, tmp_path / "straight")
    interrupt_at(7)
    with pytest.raises(KeyboardInterrupt):
        train([c], shapes, tmp_path / "crash")
    interrupt_at(None)
    ckpt = torch.load(PackStore(tmp_path / "crash" / "pack").checkpoint_path, weights_only=True)
    assert ckpt["step"] == 4 and set(ckpt["aux"]) == set(ckpt["aux_m"])
    assert len(ckpt["aux"]) == (14 if method == "factor_vae" else 0)  # 7 layers' weights and biases
    resumed, again = trained([c], shapes, tmp_path / "crash")
    assert max_diff(weights[c.id], again[c.id]) == 0.0
    assert auxiliary(straight, c).keys() == auxiliary(resumed, c).keys()
    assert all(torch.equal(a, auxiliary(resumed, c)[k]) for k, a in auxiliary(straight, c).items())


def test_each_loss_moves_only_its_own_networks(cell, shapes, tmp_path):
    """The VAE's gradient comes from its loss alone, the discriminator's from its loss alone."""
    c = cell("factor_vae", {"gamma": 30}, steps=2)
    trainer = PackTrainer(
        [c], [CellStore(tmp_path / "c")], shapes, torch.device("cpu"), SETTINGS, PackStore(tmp_path / "p")
    )
    x, eps, draws = trainer.next_batch()
    step = torch.tensor(0.0)
    loss, terms, _ = trainer._loss(trainer.params, trainer.aux, trainer.hp, trainer.state, x, eps, draws, step)
    vae_only = torch.autograd.grad(loss.sum(), list(trainer.params.values()), retain_graph=True)
    disc_only = torch.autograd.grad(terms["auxiliary"].sum(), list(trainer.aux.values()), retain_graph=True)
    mixed = torch.autograd.grad((loss + terms["auxiliary"]).sum(), list(trainer.params.values()), retain_graph=True)
    assert any(not torch.equal(a, b) for a, b in zip(mixed, vae_only))  # the separation matters
    trainer._gradients(loss, terms)
    assert all(torch.equal(p.grad, g) for p, g in zip(trainer.params.values(), vae_only))
    assert all(torch.equal(p.grad, g) for p, g in zip(trainer.aux.values(), disc_only))


@pytest.mark.slow
def test_a_compiled_step_trains_as_the_eager_one_within_rounding(cell, shapes, tmp_path):
    """``torch.compile`` of the pack's loss and gradients (on a GPU with CUDA graphs; here the
    CPU's inductor kernels): the same models, within what fused kernels' rounding allows."""
    cells = [cell("dip_vae", {"lambda_od": 5}, seed=s, steps=6, lr=1e-4) for s in range(2)]
    eager = train(cells, shapes, tmp_path / "eager")
    compiled_settings = TrainSettings(checkpoint_every=3, log_every=2, progress=False, compile="on")
    trainer, compiled = trained(cells, shapes, tmp_path / "compiled", compiled_settings)
    for c in cells:
        assert_close_as_rounding_allows(compiled[c.id], eager[c.id])
        assert CellStore(tmp_path / "compiled" / c.id).status().step == "compiled"
        assert CellStore(tmp_path / "eager" / c.id).status().step == "eager"
    assert TrainSettings().compiles(torch.device("cuda")) and not TrainSettings().compiles(torch.device("cpu"))


class _LayerDtypes(TorchDispatchMode):
    """The dtypes the convolutions and matrix products of a training step ran in."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        if name in ("convolution", "convolution_backward", "mm", "bmm", "addmm"):
            self.seen.add((name, args[0].dtype))
        return func(*args, **(kwargs or {}))


def test_a_bf16_cell_runs_its_layers_in_bf16_from_fp32_weights(cell, shapes, tmp_path):
    """bf16 cells: every convolution, forward and backward, in bf16 (autocast would leave them
    fp32 under vmap); weights, Adam moments and the loss in fp32; a model near fp32's."""
    fp32 = [cell("dip_vae", {"lambda_od": 5}, seed=s, steps=6, lr=1e-4) for s in range(2)]
    bf16 = [dataclasses.replace(c, precision="bf16") for c in fp32]
    with _LayerDtypes() as low:
        trainer, low_models = trained(bf16, shapes, tmp_path / "bf16")
    with _LayerDtypes() as full:
        full_models = train(fp32, shapes, tmp_path / "fp32")
    convolutions = lambda seen: {d for name, d in seen if name.startswith("convolution")}  # noqa: E731
    assert convolutions(low.seen) == {torch.bfloat16} and convolutions(full.seen) == {torch.float32}
    assert {d for _, d in full.seen} == {torch.float32}
    state = [*trainer.params.values(), *trainer.adam_m.values(), *trainer.adam_v.values()]
    assert {p.dtype for p in state} == {torch.float32}
    for a, b in zip(bf16, fp32):
        assert 1e-4 < max_diff(low_models[a.id], full_models[b.id]) < 1e-2  # ≤ 6 Adam steps of lr 1e-4
        low_log, full_log = (
            CellStore(tmp_path / "bf16" / a.id).read_log(),
            CellStore(tmp_path / "fp32" / b.id).read_log(),
        )
        for low_row, full_row in zip(low_log, full_log, strict=True):
            assert low_row["loss"] == pytest.approx(full_row["loss"], rel=1e-3)


class SparseVAE(Method):
    """VAE + γ·E|μ|₁, written against today's method API."""

    hyperparameters = {"gamma": 1.0, "norm": "l1"}
    choices = {"norm": ("l1",)}

    def terms(self, static, hp, inputs, state):
        l1 = inputs.mu.abs().sum(dim=1).mean()
        return {"regularizer": inputs.kl + hp["gamma"] * l1, "l1": l1}, state


def test_a_method_written_against_the_first_api_warns_once_and_trains_the_same_bits(cell, shapes, tmp_path):
    from benchbench.core.registry import BenchbenchDeprecation

    with pytest.warns(BenchbenchDeprecation) as said:

        class LegacySparseVAE(Method):
            hyperparameters = {"gamma": 1.0, "norm": "l1"}
            static = {"norm": ("l1",)}

            def regularizer(self, static, hp, kl, mu, logvar, z, state):
                l1 = mu.abs().sum(dim=1).mean()
                return {"regularizer": kl + hp["gamma"] * l1, "l1": l1}, state

    assert [str(w.message) for w in said] == [
        "method test_a_method_written_against_the_first_api_warns_once_and_trains_the_same_bits.<locals>."
        "LegacySparseVAE: the class attribute 'static' is now 'choices' (the old form still works)",
        "method test_a_method_written_against_the_first_api_warns_once_and_trains_the_same_bits.<locals>."
        "LegacySparseVAE: regularizer(static, hp, kl, mu, logvar, z, state) is now terms(static, hp, inputs, "
        "state) (the old form still works)",
    ]
    assert LegacySparseVAE.choices == {"norm": ("l1",)}
    for name, cls in (("test_sparse", SparseVAE), ("test_sparse_legacy", LegacySparseVAE)):
        if name not in methods:
            methods.register(name)(cls)
    new, old = (cell(name, {"gamma": 3}, seed=0, steps=6) for name in ("test_sparse", "test_sparse_legacy"))
    assert LegacySparseVAE().static_part(old.hyperparameters) == {"norm": "l1"}
    weights = [train([c], shapes, tmp_path / c.method)[c.id] for c in (new, old)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    logs = [CellStore(tmp_path / c.method / c.id).read_log() for c in (new, old)]
    assert logs[0] == logs[1] and "l1" in logs[0][0]


def test_a_checkpoint_missing_a_field_is_damaged_and_the_pack_starts_over(cell, shapes, tmp_path, interrupt_at, capsys):
    c = cell("vae", steps=10)
    interrupt_at(7)
    with pytest.raises(KeyboardInterrupt):
        train([c], shapes, tmp_path)
    interrupt_at(None)
    pack = PackStore(tmp_path / "pack")
    state = torch.load(pack.checkpoint_path, weights_only=True)
    del state["sums"]
    torch.save(state, pack.checkpoint_path)
    assert pack.load_checkpoint() is None
    assert (
        f"{pack.checkpoint_path} cannot be read (ValueError: no sums): the pack starts over" in capsys.readouterr().err
    )
