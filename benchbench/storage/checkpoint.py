"""A pack's checkpoint: every model of the pack at one step, in one file — the one owner of its
schema.  The trainer captures itself into it and restores itself from it, the pack store saves
and loads it; a field added here is saved, checked on load and restored with no other change.

It holds each model's parameters, Adam moments, method state and auxiliary networks (with
theirs), every model's random-number state and the loss sums of the logging interval in
progress, so a resumed pack computes exactly what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from benchbench.core.files import atomic_torch_save

Tensors = dict[str, torch.Tensor]

#: Fields that are the trainer's attributes of the same name, dicts of stacked tensors.
STACKED = ("params", "adam_m", "adam_v", "aux", "aux_m", "aux_v", "state", "sums")
#: Of those, the ones that are trained (they take gradients again once restored).
TRAINED = ("params", "aux")


@dataclass
class PackCheckpoint:
    step: int
    cells: list[str]  # the ids of the models still training, in stacking order
    rng: list[torch.Tensor]  # each model's generator state
    since_log: int  # steps summed into ``sums`` since the last curve row
    params: Tensors
    adam_m: Tensors
    adam_v: Tensors
    aux: Tensors
    aux_m: Tensors
    aux_v: Tensors
    state: Tensors
    sums: Tensors

    @classmethod
    def of(cls, trainer: Any) -> PackCheckpoint:
        """The trainer's pack as it is now, on the CPU."""
        stacked = {name: {k: t.detach().cpu() for k, t in getattr(trainer, name).items()} for name in STACKED}
        return cls(
            step=trainer.step,
            cells=[c.id for c in trainer.cells],
            rng=[g.get_state() for g in trainer.gens],
            since_log=trainer.since_log,
            **stacked,
        )

    def restore(self, trainer: Any) -> None:
        """Put the trainer (whose ``cells`` and ``gens`` are already this checkpoint's models) back
        at this step, on its device."""
        for name in STACKED:
            tensors = {k: t.to(trainer.device) for k, t in getattr(self, name).items()}
            if name in TRAINED:
                tensors = {k: t.requires_grad_() for k, t in tensors.items()}
            setattr(trainer, name, tensors)
        for gen, rng in zip(trainer.gens, self.rng):
            gen.set_state(rng)
        trainer.step, trainer.since_log = self.step, self.since_log

    def save(self, path: Path) -> None:
        atomic_torch_save(path, {f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> PackCheckpoint:
        """The checkpoint at ``path``; raises if it cannot be read or lacks a field."""
        state = torch.load(path, weights_only=True, map_location="cpu")
        if not isinstance(state, dict):
            raise ValueError(f"not a checkpoint but a {type(state).__name__}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in state]
        if missing:
            raise ValueError(f"no {', '.join(sorted(missing))}")
        return cls(**{n: state[n] for n in names})
