"""Cells (one trained model's training config, keyed by a hash) and packs (cells trained together)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from benchbench.core.records import canonical_json
from benchbench.core.registry import methods

#: The network arithmetic a cell can train with (see :class:`Cell`), and the torch dtype its layers
#: compute in: one table, so every precision a grid accepts is one the trainer can run.
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16"}

#: The training settings that are words, each with its allowed values; the first is what every
#: cell trained before the setting existed did, and a cell at it leaves the setting out of its
#: config, so its id is the one it always had (see :class:`Cell`).
SETTINGS: dict[str, tuple[str, ...]] = {
    "precision": tuple(PRECISIONS),
    "likelihood": ("dataset", "bernoulli", "gaussian"),
    "init": ("pytorch", "tensorflow"),
    "adam": ("pytorch", "tensorflow"),
    "train_images": ("split", "all"),
}


@dataclass
class Cell:
    """Everything that determines a trained model; ``id`` hashes all of it.

    Metrics are not part of a cell: an evaluation is a record attached to the trained model
    (see :mod:`benchbench.evaluation.evaluate`), so changing how a model is evaluated never retrains it.

    The :data:`SETTINGS` enter the config only away from their first value, so every cell
    keeps the id it had before they existed:

    * ``precision``: the arithmetic of the network's layers, ``fp32`` or ``bf16`` (from fp32
      master weights; loss, method terms and Adam stay fp32);
    * ``likelihood``: the reconstruction loss, the ``dataset``'s own or ``bernoulli`` (sigmoid
      cross-entropy on the logits) or ``gaussian`` (squared error of the sigmoid) for every dataset;
    * ``init``: the layers' initial weights, PyTorch's defaults or ``tensorflow``'s (Glorot-uniform
      kernels, zero biases, as disentanglement_lib's layers start);
    * ``adam``: PyTorch's Adam (ε after bias correction) or TensorFlow 1's (ε added to the
      uncorrected √v, its ``lr_t`` form);
    * ``train_images``: the dataset's training ``split`` (its test images held out) or ``all``
      of its images, as disentanglement_lib trains.

    ``snapshots`` (steps before the last, increasing) keeps the model at those steps as well, to
    be evaluated like the final one; it enters the config only when there are some, as a cell
    that keeps them is a job with more output (its final model is bit for bit the same)."""

    dataset: str
    method: str
    hyperparameters: dict[str, Any]
    seed: int
    arch: str
    latent_dim: int
    steps: int
    batch_size: int
    lr: float
    precision: str = "fp32"
    likelihood: str = "dataset"
    init: str = "pytorch"
    adam: str = "pytorch"
    train_images: str = "split"
    snapshots: tuple[int, ...] = ()

    def __post_init__(self):
        self.snapshots = tuple(self.snapshots)  # a config read back from JSON has a list

    def config(self) -> dict[str, Any]:
        config = asdict(self)
        for name, allowed in SETTINGS.items():
            if config[name] == allowed[0]:
                del config[name]
        if self.snapshots:
            config["snapshots"] = list(self.snapshots)
        else:
            del config["snapshots"]
        return config

    def settings(self) -> dict[str, str]:
        """The settings away from their first value (those in the config)."""
        return {name: getattr(self, name) for name, allowed in SETTINGS.items() if getattr(self, name) != allowed[0]}

    @property
    def id(self) -> str:
        return hashlib.sha256(canonical_json(self.config()).encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """Short human-readable name: dataset/method(numeric hp=…)/seed (needs no plugin loaded),
        hyperparameters by name, so a cell from a grid and one read back from disk read alike."""
        numeric = {k: v for k, v in sorted(self.hyperparameters.items()) if isinstance(v, float)}
        hp = ",".join(f"{k}={v:g}" for k, v in numeric.items())
        settings = "".join(f"/{v}" if k == "precision" else f"/{k}={v}" for k, v in self.settings().items())
        settings += f"/snapshots={','.join(map(str, self.snapshots))}" if self.snapshots else ""
        return f"{self.dataset}/{self.method}{f'({hp})' if hp else ''}/s{self.seed}{settings}"

    def pack_key(self) -> str:
        """Cells with equal keys can train as one pack: same data, network, precision, method
        structure and optimisation schedule; they may differ in numeric hyperparameters and seed."""
        static = methods.get(self.method)().static_part(self.hyperparameters)
        return canonical_json(
            [
                self.dataset,
                self.arch,
                self.latent_dim,
                self.method,
                static,
                self.batch_size,
                self.steps,
                self.lr,
                *(getattr(self, name) for name in SETTINGS),
                *([list(self.snapshots)] if self.snapshots else []),  # the trainer stops at them for every model
            ]
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cell:
        return cls(**config)


def make_packs(cells: list[Cell], max_size: int) -> list[list[Cell]]:
    """Group cells by pack key, in the order given, then split each group into packs of ≤ ``max_size``."""
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.pack_key(), []).append(cell)
    return [group[i : i + max_size] for group in groups.values() for i in range(0, len(group), max_size)]
