"""The method plugin API: a method is a pure function of tensors added to the reconstruction loss.

The trainer computes, for one model at a time (vectorised over a pack with ``torch.func.vmap``),
the encoder's ``μ`` and ``log σ²``, a sample ``z``, the reconstruction negative log-likelihood
and the analytic ``KL(q(z|x) ‖ N(0, I))``, each averaged over the minibatch.  A method turns
these into its regulariser — the whole loss is ``reconstruction + terms["regularizer"]`` — like
disentanglement_lib's ``BaseVAE.regularizer``.  Methods that need memory across minibatches
(DIP-VAE's running covariance) keep it in a per-model ``state`` dict of tensors that the
trainer stacks, checkpoints and passes back each step.

Hyperparameters named in ``static`` are strings that change the computation's structure; a
pack only mixes cells that agree on them.  Every other hyperparameter is a float, handed to
:meth:`Method.regularizer` as a 0-d tensor so one pack can sweep it.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from benchbench.registry import BenchbenchError

Tensors = dict[str, torch.Tensor]


def _interval(low: float, high: float) -> str:
    if high == math.inf:
        return f"a finite number ≥ {low:g}"
    return f"between {low:g} and {high:g}"


class Method:
    """Base class for method plugins; register subclasses with ``@methods.register("name")``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: hyperparameter → default; ``None`` means "derived in :meth:`derive`".
    hyperparameters: ClassVar[dict[str, Any]] = {}
    #: string hyperparameter → allowed values.
    static: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: numeric hyperparameter → (lowest, highest) allowed value, both included.
    bounds: ClassVar[dict[str, tuple[float, float]]] = {}

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
            if key in self.static:
                if value not in self.static[key]:
                    allowed = ", ".join(map(repr, self.static[key]))
                    raise BenchbenchError(f"method {self.name!r}: {key} must be one of {allowed}, got {value!r}")
            elif value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise BenchbenchError(f"method {self.name!r}: {key} must be a number, got {value!r}")
                hp[key] = float(value)
        hp = self.derive(hp)
        missing = [k for k, v in hp.items() if v is None]
        if missing:
            raise BenchbenchError(f"method {self.name!r}: no value for {missing[0]!r}")
        for key, value in self.numeric_part(hp).items():
            low, high = self.bounds.get(key, (-math.inf, math.inf))
            if not (math.isfinite(value) and low <= value <= high):
                where = "a finite number" if (low, high) == (-math.inf, math.inf) else _interval(low, high)
                raise BenchbenchError(f"method {self.name!r}: {key} must be {where}, got {value!r}")
        return hp

    def static_part(self, hp: dict[str, Any]) -> dict[str, Any]:
        return {k: hp[k] for k in self.static}

    def numeric_part(self, hp: dict[str, Any]) -> dict[str, float]:
        return {k: v for k, v in hp.items() if k not in self.static}

    def init_state(self, static: dict[str, Any], latent_dim: int) -> Tensors:
        """Per-model state carried across steps (none by default)."""
        return {}

    def regularizer(
        self,
        static: dict[str, Any],
        hp: Tensors,
        kl: torch.Tensor,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        z: torch.Tensor,
        state: Tensors,
    ) -> tuple[Tensors, Tensors]:
        """Return ``(terms, new_state)``; ``terms["regularizer"]`` is added to the reconstruction loss.

        Other entries of ``terms`` are logged to the training curve.  ``mu``/``logvar``/``z``
        are one model's ``(batch, latent)`` tensors; ``kl`` is the minibatch-mean KL.
        """
        return {"regularizer": kl}, state
