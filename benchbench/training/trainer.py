"""The pack trainer: several compatible cells trained at once as one vectorised model.

Cells of a pack share dataset, architecture, method structure and optimisation schedule, so
their parameters can be stacked along a leading "model" axis and the loss of all of them
computed in one ``torch.func.vmap``-ed call.  Each model keeps its own Adam moments (Adam is
element-wise, so stacking does not mix models), its own data stream and noise (a generator
seeded from the cell's seed) and its own method state.  Training a pack of one is training a
single cell; a pack of many gives the same per-model result, only faster.

The training images stay on the device in their compact uint8 form; each step gathers the
minibatch indices for every model on the device.  A model whose loss turns NaN/inf is marked
``diverged`` and dropped; the rest go on.

A pack checkpoints and resumes as a unit: one file holds every model's parameters, Adam
moments, method state and random-number state at one step, with the loss sums of the logging
interval in progress, so a resumed pack computes exactly what an uninterrupted one would — the
same bits, the same curve.  Training ends with a final checkpoint, written before any model, so
a crash while the models are being saved is finished from it without training again.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from benchbench.core.arch import VAENet, build_net, kl_to_standard_normal, reconstruction_nll, tensorflow_init
from benchbench.core.progress import Heartbeat, duration, log
from benchbench.core.registry import methods
from benchbench.core.runtime import cpu_threads, derived_seed, tune_cpu_allocator
from benchbench.planning.cells import PRECISIONS, Cell
from benchbench.plugin.data import GroundTruthDataset
from benchbench.plugin.method import Inputs
from benchbench.storage.checkpoint import PackCheckpoint
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.pairs import check_pairs, one_hot, pair_rows

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass
class TrainSettings:
    checkpoint_every: int = 1000
    log_every: int = 100
    progress: bool = True
    #: ``torch.compile`` the pack's loss and gradient: ``auto`` on a GPU (with CUDA graphs, one
    #: replay a step instead of hundreds of small launches), ``on``, or ``off``.  A compiled step
    #: fuses kernels, so it rounds differently from the eager one; each cell records which it had.
    compile: str = "auto"
    #: CPU threads (``torch.set_num_threads``) every process that trains the packs uses; ``None``:
    #: torch's default.  Another count rounds differently, and on a busy machine fewer can be
    #: many times faster (docs/performance.md).
    threads: int | None = None

    def compiles(self, device: torch.device) -> bool:
        return self.compile == "on" or (self.compile == "auto" and torch.device(device).type == "cuda")


def _initial(cell: Cell, purpose: str, build) -> torch.nn.Module:
    """``build()`` on the CPU from the cell's seed stream ``purpose`` (the same on every device),
    with TensorFlow's initial weights when the cell asks for them."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(cell.seed, purpose))
        net = build()
        if cell.init == "tensorflow":
            tensorflow_init(net)
        return net


def init_net(cell: Cell, image_shape: tuple[int, int, int]) -> VAENet:
    """The cell's initial network."""
    return _initial(cell, "init", lambda: build_net(cell.arch, image_shape, cell.latent_dim))


class PackTrainer:
    """Trains the cells of one pack together, checkpointing and logging each of them."""

    def __init__(
        self,
        cells: list[Cell],
        stores: list[CellStore],
        dataset: GroundTruthDataset,
        device: torch.device,
        settings: TrainSettings,
        pack: PackStore,
    ):
        first = cells[0]
        self.cells, self.stores, self.settings, self.pack = list(cells), list(stores), settings, pack
        self.device = torch.device(device)
        if self.device.type == "cpu":
            tune_cpu_allocator()
        self.dataset = dataset
        self.method = methods.get(first.method)()
        self.static = self.method.static_part(first.hyperparameters)
        self.pairs = self.method.observes == "pairs"
        if self.pairs:
            check_pairs(dataset, self.static.get("k"), first.method)
        self.steps, self.batch_size, self.lr = first.steps, first.batch_size, first.lr
        self.template = build_net(first.arch, dataset.image_shape, first.latent_dim).to(self.device)
        self.aux_specs = self.method.auxiliaries(self.static, first.latent_dim)
        self.aux_templates = {n: a.build(first.latent_dim).to(self.device) for n, a in self.aux_specs.items()}
        self.images = dataset.image_store(self.device)
        train = np.arange(len(dataset)) if first.train_images == "all" else dataset.train_indices
        self.train_idx = torch.as_tensor(train, device=self.device)
        self.likelihood = dataset.likelihood if first.likelihood == "dataset" else first.likelihood
        self.tensorflow_adam = first.adam == "tensorflow"
        self._init_models()
        self.network_dtype = getattr(torch, PRECISIONS[first.precision])
        self._loss = vmap(self._one_model_loss, in_dims=(0, 0, 0, 0, 0, 0, 0, None))
        self.compiled = settings.compiles(self.device)
        self.graphs = self.compiled and self.device.type == "cuda"
        if self.compiled:
            self._loss = torch.compile(self._loss, mode="reduce-overhead" if self.graphs else "default", dynamic=False)

    # ---------------------------------------------------------------- state
    def _init_models(self) -> None:
        """Every model from its seed, or the pack from its checkpoint (the models still training at
        that step, each curve cut back to it)."""
        ckpt = self.pack.load_checkpoint()
        if ckpt is not None:
            keep = [i for cid in ckpt.cells for i, c in enumerate(self.cells) if c.id == cid]
            self.cells, self.stores = [self.cells[i] for i in keep], [self.stores[i] for i in keep]
        nets, states, gens = [], [], []
        for cell in self.cells:
            nets.append(init_net(cell, self.dataset.image_shape))
            gen = torch.Generator(device=self.device)
            gen.manual_seed(derived_seed(cell.seed, "data"))
            gens.append(gen)
            states.append(self.method.init_state(self.static, cell.latent_dim))
        params, _ = stack_module_state(nets)
        aux = {
            name: stack_module_state([init_aux(c, name, spec) for c in self.cells])[0]
            for name, spec in self.aux_specs.items()
        }
        numeric = [self.method.numeric_part(c.hyperparameters) for c in self.cells]
        self.hp = {k: torch.tensor([n[k] for n in numeric], device=self.device) for k in numeric[0]}
        self.gens, self.step, self.since_log = gens, 0, 0
        self.saved_step = 0  # the step of the pack's last checkpoint: where an interrupted run resumes
        self.sums: dict[str, torch.Tensor] = {}  # loss terms summed since the last log row
        if ckpt is None:
            self.params = {k: p.detach().to(self.device).requires_grad_() for k, p in params.items()}
            self.adam_m = {k: torch.zeros_like(p) for k, p in self.params.items()}
            self.adam_v = {k: torch.zeros_like(p) for k, p in self.params.items()}
            self.aux = {
                f"{name}.{k}": p.detach().to(self.device).requires_grad_()
                for name, ps in aux.items()
                for k, p in ps.items()
            }
            self.aux_m = {k: torch.zeros_like(p) for k, p in self.aux.items()}
            self.aux_v = {k: torch.zeros_like(p) for k, p in self.aux.items()}
            self.state = self._stack(states)
            for store in self.stores:
                store.write_log([])  # a fresh start: no curve from an earlier attempt
            return
        ckpt.restore(self)
        self.saved_step = self.step
        for store in self.stores:
            store.write_log([r for r in store.read_log() if r["step"] <= self.step])

    def _stack(self, dicts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {k: torch.stack([d[k] for d in dicts]).to(self.device) for k in dicts[0]}

    def _keep(self, keep: list[int]) -> None:
        """Drop every model not in ``keep`` from the pack."""
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.params = {k: p.detach()[index].requires_grad_() for k, p in self.params.items()}
        self.aux = {k: p.detach()[index].requires_grad_() for k, p in self.aux.items()}
        for name in ("adam_m", "adam_v", "aux_m", "aux_v", "state", "hp"):
            setattr(self, name, {k: t[index] for k, t in getattr(self, name).items()})
        for name in ("cells", "stores", "gens"):
            setattr(self, name, [getattr(self, name)[i] for i in keep])

    # ---------------------------------------------------------------- maths
    def _one_model_loss(self, params, aux, hp, state, x, eps, draws, step):
        if self.network_dtype != torch.float32:  # the layers in bf16 from fp32 master weights
            params = {k: p.to(self.network_dtype) for k, p in params.items()}
        posterior = None
        if self.pairs:  # the method's (μ, log σ²) of each pair, before sampling
            posterior = functools.partial(self.method.posterior, self.static, hp, draws=draws)
        mu, logvar, z, logits = functional_call(
            self.template, params, (x.to(self.network_dtype), eps), {"posterior": posterior}
        )
        logits = logits.float()  # the loss, the method's terms and Adam: fp32
        recon = reconstruction_nll(self.likelihood, logits, x).mean()
        kl = kl_to_standard_normal(mu, logvar)
        nets = {
            name: functools.partial(functional_call, template, _prefixed(aux, name))
            for name, template in self.aux_templates.items()
        }
        inputs = Inputs(kl, mu, logvar, z, step, nets, draws)
        terms, new_state = self.method.terms(self.static, hp, inputs, state)
        loss = recon + terms["regularizer"]
        return loss, {"loss": loss, "reconstruction": recon, "kl": kl, **terms}, new_state

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Each model's minibatch (of pairs: first images, then their partners), reparametrisation
        noise and the method's draws, from its own generator."""
        n, b, d = self.train_idx.numel(), self.batch_size, self.cells[0].latent_dim
        changed = []
        if self.pairs:
            draws = []
            for g in self.gens:
                first, second, last = pair_rows(self.dataset, self.train_idx, self.static["k"], b, g)
                draws.append((torch.cat([first, second]), torch.randn(2 * b, d, generator=g, device=self.device)))
                changed.append({"changed": one_hot(last, d)})
            rows, per = torch.stack([i for i, _ in draws]).flatten(), 2 * b
        else:
            draws = [
                (
                    torch.randint(n, (b,), generator=g, device=self.device),
                    torch.randn(b, d, generator=g, device=self.device),
                )
                for g in self.gens
            ]
            rows, per = self.train_idx[torch.stack([i for i, _ in draws]).flatten()], b
        if self.dataset.stochastic:  # each model's nuisance (image, colour, noise) from its own stream
            data, parts = self.dataset, zip(rows.split(per), self.gens)
            x = torch.cat([data.observe(self.images.batch(data.rows(part, g)), g) for part, g in parts])
        else:
            x = self.images.batch(rows)
        extra = [self.method.draws(self.static, b, d, g) for g in self.gens]  # after the batch: old streams unchanged
        extra = [{**e, **c} for e, c in zip(extra, changed)] if changed else extra
        return x.view(len(self.gens), per, *x.shape[1:]), torch.stack([e for _, e in draws]), self._stack(extra)

    @torch.no_grad()
    def _adam(self) -> None:
        """One Adam update of every model's parameters, and of each auxiliary network's with its
        own settings (Adam is element-wise: stacked models never mix)."""
        tf = self.tensorflow_adam
        adam_update(self.params, self.adam_m, self.adam_v, self.step, self.lr, ADAM_BETAS, ADAM_EPS, tf)
        for name, spec in self.aux_specs.items():
            keys = [k for k in self.aux if k.startswith(f"{name}.")]
            params, m, v = ({k: d[k] for k in keys} for d in (self.aux, self.aux_m, self.aux_v))
            adam_update(params, m, v, self.step, spec.lr, spec.betas, spec.eps, tf)

    # ---------------------------------------------------------------- loop
    def train(self) -> list[tuple[Cell, CellStore, dict[str, torch.Tensor]]]:
        """Train to the end; return ``(cell, store, state_dict)`` for each model that finished."""
        start, t0 = self.step, time.perf_counter()
        first = self.cells[0]
        what = f"pack {self.pack.id} ({len(self.cells)} × {first.method} on {first.dataset}, {self.device})"
        log.info(f"{what}: training from step {self.step:,} to {self.steps:,}")
        heartbeat = Heartbeat(f"pack {self.pack.id}", self.steps, self.step)
        with tqdm(
            total=self.steps,
            initial=self.step,
            disable=not self.settings.progress,
            leave=False,
            desc=f"pack of {len(self.cells)} {self.cells[0].method}",
            unit="step",
        ) as bar:
            self.advance(self.steps, lambda n: (bar.update(n), heartbeat(n)))
        elapsed = time.perf_counter() - t0
        rate = (self.step - start) / max(elapsed, 1e-9)
        log.info(
            f"pack {self.pack.id}: trained in {duration(elapsed)} ({rate:.3g} steps/s), {len(self.cells)} finished"
        )
        if self.cells:
            self._checkpoint()  # the final one: every model at the last step, before any is saved
        finished = []
        for i, (cell, store) in enumerate(zip(self.cells, self.stores)):
            state = self._state_dict(i)
            finished.append((cell, store, state))
            if store.model_path.exists() and store.status().status == "trained":
                continue  # saved before: by an earlier run of this pack, or before a crash
            if not store.model_path.exists():
                store.save_model(state)
            store.mark_trained(
                pack=self.pack.id,
                device=str(self.device),
                **cpu_threads(self.device),
                step="compiled" if self.compiled else "eager",
                train_seconds=round(elapsed, 3),
                steps_per_second=round(rate, 3),
            )
        self.pack.drop_checkpoint()
        return finished

    def advance(self, until: int, on_step=lambda n: None) -> None:
        """Train every model of the pack up to step ``until``, logging and checkpointing on the way."""
        settings = self.settings
        while self.step < until and self.cells:
            x, eps, draws = self.next_batch()
            if self.graphs:  # a new step: the previous replay's outputs may be overwritten
                torch.compiler.cudagraph_mark_step_begin()
            step = torch.tensor(float(self.step), device=self.device)
            loss, terms, new_state = self._loss(self.params, self.aux, self.hp, self.state, x, eps, draws, step)
            self._gradients(loss, terms)
            self.step += 1
            self._adam()
            self.state = {k: v.detach().clone() for k, v in new_state.items()}  # not a graph's buffer
            for k, v in terms.items():
                self.sums[k] = self.sums.get(k, 0) + v.detach()
            self.since_log += 1
            on_step(1)
            if self.cells and self.step in self.cells[0].snapshots:  # the pack's cells share them
                self._snapshot()
            if self.step % settings.log_every == 0 or self.step == self.steps:
                self._log()
            if self.step % settings.checkpoint_every == 0 and self.step < self.steps and self.cells:
                self._checkpoint()

    def _snapshot(self) -> None:
        """Keep every model at this step, before any later checkpoint, so a resumed pack never
        passes a snapshot it lacks; one saved before (by a run resumed from an earlier checkpoint)
        holds the same bits and stays as it is."""
        for i, store in enumerate(self.stores):
            snapshot = store.snapshot(self.step)
            if not snapshot.model_path.exists():
                snapshot.save_model(self._state_dict(i))

    def _state_dict(self, i: int) -> dict[str, torch.Tensor]:
        """Model ``i``'s weights as its network's state dict, on the CPU."""
        cell = self.cells[i]
        net = build_net(cell.arch, self.dataset.image_shape, cell.latent_dim)
        net.load_state_dict({k: p[i].detach().cpu() for k, p in self.params.items()})
        return net.state_dict()

    def _gradients(self, loss: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        for p in [*self.params.values(), *self.aux.values()]:
            p.grad = None
        set_gradients(
            loss.sum(), terms.get("auxiliary", loss).sum(), list(self.params.values()), list(self.aux.values())
        )

    def _log(self) -> None:
        """Append interval means to each model's curve; drop models whose loss is not finite."""
        means = {k: (v / self.since_log).cpu().tolist() for k, v in self.sums.items()}
        self.sums, self.since_log = {}, 0
        keep = []
        for i, store in enumerate(self.stores):
            row = {"step": self.step, **{k: v[i] for k, v in means.items()}}
            store.append_log([row])
            if math.isfinite(row["loss"]):
                keep.append(i)
            else:
                error = f"loss became {row['loss']} by step {self.step}"
                store.mark_diverged(self.pack.id, self.step, error)
        if len(keep) < len(self.cells):
            self._keep(keep)

    def _checkpoint(self) -> None:
        """Every model of the pack at this step, in one file."""
        self.pack.save_checkpoint(PackCheckpoint.of(self))
        self.saved_step = self.step


def set_gradients(loss: torch.Tensor, aux_loss: torch.Tensor, params: list, aux: list) -> None:
    """``.grad`` of the VAE's ``params`` from ``loss`` and of the auxiliary networks' ``aux`` from
    ``aux_loss`` alone, as disentanglement_lib's two optimizers each over its own variables (a
    plain backward when there is no auxiliary network)."""
    if not aux:
        loss.backward()
        return
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    aux_grads = torch.autograd.grad(aux_loss, aux)
    for p, g in zip([*params, *aux], [*grads, *aux_grads]):
        p.grad = g


def _prefixed(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """The entries ``name.<key>`` of ``tensors`` as ``<key>``: one auxiliary network's parameters."""
    return {k[len(name) + 1 :]: t for k, t in tensors.items() if k.startswith(f"{name}.")}


def init_aux(cell: Cell, name: str, spec) -> torch.nn.Module:
    """The cell's initial auxiliary network ``name``."""
    return _initial(cell, f"init:{name}", lambda: spec.build(cell.latent_dim))


@torch.no_grad()
def adam_update(params, m, v, t: int, lr: float, betas, eps: float, tensorflow: bool = False) -> None:
    """Adam (Kingma & Ba) on each parameter from its ``.grad``, ``t`` updates counted including
    this one: as ``torch.optim.Adam`` (``ε`` added to the bias-corrected ``√v̂``), or as
    TensorFlow 1's ``AdamOptimizer`` documents it, ``lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)`` and
    ``θ −= lr_t·m/(√v + ε)`` (``ε`` added to the uncorrected ``√v``)."""
    b1, b2 = betas
    bias2_sqrt = math.sqrt(1 - b2**t)
    step_size = lr * bias2_sqrt / (1 - b1**t) if tensorflow else lr / (1 - b1**t)
    for k, p in params.items():
        g = p.grad
        m[k].lerp_(g, 1 - b1)
        v[k].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = v[k].sqrt().add_(eps) if tensorflow else (v[k].sqrt() / bias2_sqrt).add_(eps)
        p.addcdiv_(m[k], denom, value=-step_size)
