"""The method plugin API: a method is a pure function of tensors added to the reconstruction loss.

The trainer computes, for one model at a time (vectorised over a pack with ``torch.func.vmap``),
the encoder's ``μ`` and ``log σ²``, a sample ``z``, the reconstruction negative log-likelihood
and the analytic ``KL(q(z|x) ‖ N(0, I))``, each averaged over the minibatch.  A method's one
hook, :meth:`Method.terms`, turns these (an :class:`Inputs`) into its regulariser — the whole
loss is ``reconstruction + terms["regularizer"]``, like disentanglement_lib's
``BaseVAE.regularizer`` — and anything else it wants logged.  ``Inputs`` also carries the
training step (AnnealedVAE's schedule), the method's auxiliary networks (FactorVAE's
discriminator: declared in :meth:`Method.auxiliaries`, built per model, trained by the trainer
with their own Adam from ``terms["auxiliary"]``, stacked over the pack and checkpointed like the
VAE) and random draws made outside the vectorised step from the model's own generator
(:meth:`Method.draws`).  Methods that need memory across minibatches (DIP-VAE's running
covariance) keep it in a per-model ``state`` dict of tensors that the trainer stacks,
checkpoints and passes back each step.

Hyperparameters listed in ``choices`` (with their allowed values) are strings that change the
computation's structure; a pack only mixes cells that agree on them, and every hook receives
their resolved values as its first argument, ``static``.  Every other hyperparameter is a
float, handed to the method as a 0-d tensor (in ``hp``) so one pack can sweep it.

A method written for the first version of this API — overriding ``regularizer(static, hp, kl,
mu, logvar, z, state)``, or naming its choices ``static`` — keeps working, with a one-line
deprecation warning when its class is defined.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from benchbench.core.checks import interval_words, is_number, type_words
from benchbench.core.registry import BenchbenchDeprecation, BenchbenchError

Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Auxiliary:
    """A network a method trains beside each model: built from the latent size, initialised from
    the cell's seed, updated by its own Adam from ``terms["auxiliary"]`` (over its parameters
    only: the VAE's loss never moves it, its loss never moves the VAE)."""

    build: Callable[[int], torch.nn.Module]
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


@dataclass
class Inputs:
    """One model's minibatch as a method sees it.

    ``kl`` is the minibatch-mean KL, ``mu``/``logvar``/``z`` are ``(batch, latent)``, ``step``
    a 0-d tensor counting the updates done before this one (0 on the first), ``aux[name](x)``
    runs this model's auxiliary network ``name``, ``draws`` holds :meth:`Method.draws`'s tensors.
    """

    kl: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    step: torch.Tensor
    aux: dict[str, Callable[[torch.Tensor], torch.Tensor]] = field(default_factory=dict)
    draws: dict[str, torch.Tensor] = field(default_factory=dict)


class Method:
    """Base class for method plugins; register subclasses with ``@methods.register("name")``."""

    name: ClassVar[str] = ""
    #: How papers name it in tables and figures ("β-VAE"); reports fall back to ``name``.
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: hyperparameter → default; ``None`` means "derived in :meth:`derive`".
    hyperparameters: ClassVar[dict[str, Any]] = {}
    #: string hyperparameter → its allowed values (the "static" part of a cell's hyperparameters).
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: numeric hyperparameter → (lowest, highest) allowed value, both included.
    bounds: ClassVar[dict[str, tuple[float, float]]] = {}
    #: hyperparameter added after cells were stored → the value that reproduces how those cells
    #: trained: a stored cell without it trains (and resumes) as it always did, and keeps its id.
    legacy: ClassVar[dict[str, Any]] = {}
    #: What a minibatch holds: ``"images"``, or ``"pairs"`` — pairs of observations of a
    #: ground-truth dataset that share all but some factors (:mod:`benchbench.training.pairs`;
    #: the static hyperparameter ``k`` says how many differ), their first images then their
    #: second, with ``draws["changed"]`` one-hot over the latents at the pair's last changed factor.
    observes: ClassVar[str] = "images"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        legacy = cls.__dict__.get("static")
        if isinstance(legacy, dict):
            _deprecated(cls, "the class attribute 'static' is now 'choices'")
            cls.choices = legacy
        if "regularizer" in cls.__dict__ and "terms" not in cls.__dict__:
            _deprecated(
                cls, "regularizer(static, hp, kl, mu, logvar, z, state) is now terms(static, hp, inputs, state)"
            )
            cls.terms = _terms_from_regularizer

    def derive(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Fill hyperparameters whose default depends on others (override when needed)."""
        return hp

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled, types checked, derived values computed: the cell's full hyperparameters."""
        unknown = sorted(set(given) - set(self.hyperparameters))
        if unknown:
            known = ", ".join(self.hyperparameters) or "none"
            raise BenchbenchError(f"method {self.name!r} has no hyperparameter {unknown[0]!r} (known: {known})")
        hp = {**self.hyperparameters, **given}
        for key, value in hp.items():
            if key in self.choices:
                if value not in self.choices[key]:
                    allowed = ", ".join(map(repr, self.choices[key]))
                    raise BenchbenchError(f"method {self.name!r}: {key} must be one of {allowed}, got {value!r}")
            elif value is not None:
                if not is_number(value):
                    raise BenchbenchError(f"method {self.name!r}: {key} must be {type_words(float)}, got {value!r}")
                hp[key] = float(value)
        hp = self.derive(hp)
        missing = [k for k, v in hp.items() if v is None]
        if missing:
            raise BenchbenchError(f"method {self.name!r}: no value for {missing[0]!r}")
        for key, value in self.numeric_part(hp).items():
            low, high = self.bounds.get(key, (-math.inf, math.inf))
            if not (math.isfinite(value) and low <= value <= high):
                where = "a finite number" if (low, high) == (-math.inf, math.inf) else interval_words(low, high)
                raise BenchbenchError(f"method {self.name!r}: {key} must be {where}, got {value!r}")
        return hp

    def static_part(self, hp: dict[str, Any]) -> dict[str, Any]:
        hp = {**self.legacy, **hp}
        return {k: hp[k] for k in self.choices}

    def numeric_part(self, hp: dict[str, Any]) -> dict[str, float]:
        hp = {**self.legacy, **hp}
        return {k: v for k, v in hp.items() if k not in self.choices}

    def init_state(self, static: dict[str, Any], latent_dim: int) -> Tensors:
        """Per-model state carried across steps (none by default)."""
        return {}

    def auxiliaries(self, static: dict[str, Any], latent_dim: int) -> dict[str, Auxiliary]:
        """Networks this method trains beside each model (none by default)."""
        return {}

    def draws(
        self, static: dict[str, Any], batch_size: int, latent_dim: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Random tensors for one model's step, drawn from its own generator on its device
        (randomness inside the vectorised step would not be reproducible per model)."""
        return {}

    def posterior(
        self, static: dict[str, Any], hp: Tensors, mu: torch.Tensor, logvar: torch.Tensor, draws: Tensors
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``(μ, log σ²)`` a model samples its codes from and is regularised at, given its
        encoder's for the minibatch: the encoder's own by default (a weakly supervised method
        averages what a pair shares)."""
        return mu, logvar

    def terms(self, static: dict[str, Any], hp: Tensors, inputs: Inputs, state: Tensors) -> tuple[Tensors, Tensors]:
        """Return ``(terms, new_state)`` for one model's minibatch: ``terms["regularizer"]`` is
        added to the reconstruction loss, ``terms["auxiliary"]`` (when the method has auxiliary
        networks) is their loss, and every other entry is logged.  The VAE's own: the KL."""
        return {"regularizer": inputs.kl}, state


def _deprecated(cls: type, change: str) -> None:
    warnings.warn(
        f"method {cls.__qualname__}: {change} (the old form still works)", BenchbenchDeprecation, stacklevel=3
    )


def _terms_from_regularizer(self, static, hp, inputs: Inputs, state):
    """``terms`` of a method written against the first API, from its ``regularizer``."""
    return self.regularizer(static, hp, inputs.kl, inputs.mu, inputs.logvar, inputs.z, state)
