"""The run's records as types: a run's :class:`Manifest`, a cell's :class:`CellStatus`, an
:class:`EvaluationRecord`, and what a model scored but not trained here is
(:class:`EncoderSource`, kept in its cell's :class:`ScoredEncoder`) — each the one owner of its
JSON form.

Every command reads and writes them through here (the store keeps the files, this module what is
in them), so a field is named in one place and an outside tool can rely on docs/records.md.
``from_json`` takes any version this benchbench wrote and keeps fields it does not know (a newer
writer's) in ``extra``, so a read-and-write round trip loses nothing; it raises ``ValueError`` for
JSON that is not such a record, and the store says so in one line.  ``to_json`` writes the
current version and leaves out what is unset, so a record's file says only what is known.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, get_args

#: Version of the run folder layout, in the manifest: 1 (no ``layout``) kept metric options in
#: each cell's config; 2 made evaluations records of their own; 3 keys an evaluation by the
#: options that say what it computes, not how it runs (``device``).  ``benchbench migrate``
#: converts an older run.
LAYOUT = 3

#: A cell's training status (its evaluations have their own, in their records).
Status = Literal["pending", "running", "trained", "failed", "diverged"]
EvaluationStatus = Literal["done", "failed", "not_applicable"]
STATUSES: tuple[str, ...] = get_args(Status)
EVALUATION_STATUSES: tuple[str, ...] = get_args(EvaluationStatus)
#: Version of the evaluation record's fields: 1 had no ``record`` field; 2 adds it and ``execution``.
RECORD_VERSION = 2


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj`` that every key hashes (a cell's id, an evaluation's key):
    sorted keys, no spaces, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


class _Record:
    """``to_json``/``from_json`` over a dataclass: unset (``None``) fields left out, unknown ones in ``extra``."""

    #: Fields kept under another name in the file (a field named like a method would shadow it).
    _renamed: ClassVar[dict[str, str]] = {}
    extra: dict[str, Any]

    @classmethod
    def _known(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]

    def to_json(self) -> dict[str, Any]:
        out = dict(self.extra)
        for name in self._known():
            value = getattr(self, name)
            if value is not None:
                out[self._renamed.get(name, name)] = value
        return out

    @classmethod
    def _split(cls, obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(obj, dict):
            raise ValueError(f"not a JSON object: {str(obj)[:40]}")
        names = {cls._renamed.get(n, n): n for n in cls._known()}
        known = {names[k]: v for k, v in obj.items() if k in names}
        return known, {k: v for k, v in obj.items() if k not in names}


@dataclass
class CellStatus(_Record):
    """A cell's ``status.json``: where it is in its lifecycle (``pending → running → trained |
    failed | diverged``) and what is known of how it got there.  ``files`` (a trained cell's model,
    curve and snapshots, each with size and SHA-256) lets a reader notice damage; ``damaged``
    says the file could not be read and this status is what it was taken for (never written);
    ``imported`` where a model trained elsewhere came from (:mod:`benchbench.sharing`)."""

    status: Status = "pending"
    pack: str | None = None
    device: str | None = None
    started: str | None = None
    step: int | None = None
    error: str | None = None
    files: dict[str, dict[str, Any]] | None = None
    scored: str | None = None
    imported: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    damaged: bool = field(default=False, compare=False)

    @classmethod
    def _known(cls) -> list[str]:
        return [n for n in super()._known() if n != "damaged"]

    @classmethod
    def from_json(cls, obj: Any) -> CellStatus:
        known, extra = cls._split(obj)
        if known.get("status") not in STATUSES:
            raise ValueError(f"has no known status ({str(obj)[:40]})")
        return cls(**known, extra=extra)


@dataclass
class EvaluationRecord(_Record):
    """An evaluation's ``evaluation.json``: which evaluation (metric, key, resolved options, the
    options that only say how it ran, the outputs' directions, whether the options are the
    defaults), its outcome (``status``, ``values`` or ``error`` with ``traceback``, ``seconds``),
    where and with what it ran (cell, device, CPU threads, versions, git commit, started), for a snapshot its
    ``step``, for an across-seeds metric the ``models`` compared, and its arrays (``artifacts``
    with each file's size and SHA-256 in ``files``); ``imported`` where it was computed elsewhere
    and brought in with its model."""

    metric: str
    key: str
    status: EvaluationStatus
    options: dict[str, Any] = field(default_factory=dict)
    execution: list[str] | None = None
    better: dict[str, str] | None = None
    defaults: bool | None = None
    values: dict[str, float] | None = None
    error: str | None = None
    traceback: str | None = None
    seconds: float | None = None
    cell: str | None = None
    device: str | None = None
    threads: int | None = None
    versions: dict[str, str] | None = None
    git_commit: str | None = None
    started: str | None = None
    step: int | None = None
    models: list[str] | None = None
    migrated_from: str | None = None
    imported: dict[str, Any] | None = None
    artifacts: list[str] | None = None
    files: dict[str, dict[str, Any]] | None = None
    version: int = RECORD_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    _renamed: ClassVar[dict[str, str]] = {"version": "record"}

    @classmethod
    def from_json(cls, obj: Any) -> EvaluationRecord:
        known, extra = cls._split(obj)
        missing = [k for k in ("metric", "key", "status") if k not in known]
        if missing or known["status"] not in EVALUATION_STATUSES:
            raise ValueError(f"not an evaluation record ({', '.join(missing) or 'status ' + repr(known['status'])})")
        if known["status"] == "done" and not isinstance(known.get("values"), dict):
            raise ValueError("done without values")
        known.setdefault("version", 1)
        return cls(**known, extra=extra)

    @property
    def done(self) -> bool:
        return self.status == "done"


@dataclass
class Manifest(_Record):
    """A run's ``manifest.json``: its layout version, name, grid (``name``, ``source``, ``spec``;
    grids it was ``extended`` from), the study whose report it shows (``study``: its grid's), the
    grid's evaluations (as :meth:`EvalSpec.to_json <benchbench.plugin.metric.EvalSpec.to_json>`
    gives them), its cells, and how and where it ran
    (command, plugins, pack size, executor's devices and CPU threads, versions, git commit, start/resume/end
    times), ``weights = "not kept"`` where its models' weights were left out on purpose (a
    reference run: its records only), and the bundles models were ``imported`` from.  An empty
    manifest (``Manifest()``) is a run not started, or one whose file was unreadable."""

    layout: int | None = None
    run: str | None = None
    grid: dict[str, Any] | None = None
    study: str | None = None
    extended: list[dict[str, Any]] | None = None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    command: list[str] | None = None
    plugins: list[str] | None = None
    pack_size: int | None = None
    executor: str | None = None
    devices: list[str] | None = None
    threads: int | None = None
    versions: dict[str, str] | None = None
    git_commit: str | None = None
    started: str | None = None
    resumed: str | None = None
    ended: str | None = None
    weights: str | None = None
    imported: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any) -> Manifest:
        known, extra = cls._split(obj)
        return cls(**known, extra=extra)

    def __bool__(self) -> bool:
        """Whether anything was recorded (an empty manifest: a run not started, or unreadable)."""
        return any(v not in ([], {}) for v in self.to_json().values())

    @property
    def grid_name(self) -> str | None:
        return (self.grid or {}).get("name")

    @property
    def grid_spec(self) -> dict[str, Any]:
        return (self.grid or {}).get("spec") or {}

    def evaluations_by_key(self) -> dict[str, dict[str, Any]]:
        return {e["key"]: e for e in self.evaluations}


#: How an encoder trained elsewhere is given: a file's object (``FILE.py:NAME``), a module's
#: (``MODULE:NAME``), a TorchScript file, an exported program (``.pt2``), a code matrix
#: (``.npz``), or a baseline that needs no training.
SourceKind = Literal["file", "module", "torchscript", "exported", "codes", "baseline"]


@dataclass(frozen=True)
class EncoderSource:
    """A scored model's source, parsed once from the words that name it (:meth:`parse`): its
    ``kind``, ``where`` it is (a file's absolute path, a module's or a baseline's name) and the
    ``name`` of the object a file or module holds.  :attr:`text` is the one written form, read
    back by :meth:`parse` (a run's ``encoder.json`` keeps it)."""

    kind: SourceKind
    where: str
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> EncoderSource:
        """``baseline:NAME``, ``codes:FILE.npz``, ``FILE.py:NAME``, ``MODULE:NAME``, or a file
        (``.pt2``: an exported program; any other: TorchScript)."""
        if text.startswith("baseline:"):
            return cls("baseline", text.removeprefix("baseline:"))
        if text.startswith("codes:"):
            return cls("codes", os.path.abspath(text.removeprefix("codes:")))
        source, colon, name = text.rpartition(":")
        if colon and source and name.isidentifier():
            return cls("file", os.path.abspath(source), name) if source.endswith(".py") else cls("module", source, name)
        return cls("exported" if text.endswith(".pt2") else "torchscript", os.path.abspath(text))

    @property
    def text(self) -> str:
        if self.kind in ("baseline", "codes"):
            return f"{self.kind}:{self.where}"
        return f"{self.where}:{self.name}" if self.name else self.where

    @property
    def stem(self) -> str:
        """A code file's stem, the words that name anything else: its label when none is given."""
        return os.path.splitext(os.path.basename(self.where))[0] if self.kind == "codes" else self.text


@dataclass
class ScoredEncoder(_Record):
    """A scored cell's ``encoder.json``: its :class:`EncoderSource` (as its ``encoder`` text),
    label, code size, seed, the training images a fitted baseline saw (``fit_images``), the
    SHA-256 of what it is, so a changed file is noticed before it is scored again, and the keys
    of the ``evaluations`` asked for it (what ``status`` counts as missing for it)."""

    source: EncoderSource
    label: str
    latent_dim: int
    seed: int
    sha256: str
    fit_images: int | None = None
    evaluations: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _renamed: ClassVar[dict[str, str]] = {"source": "encoder"}

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "encoder": self.source.text}

    @classmethod
    def from_json(cls, obj: Any) -> ScoredEncoder:
        known, extra = cls._split(obj)
        missing = [k for k in ("source", "label", "latent_dim", "seed", "sha256") if k not in known]
        if missing:
            raise ValueError(f"not a scored encoder's record (no {', '.join(missing)})")
        return cls(**{**known, "source": EncoderSource.parse(known["source"])}, extra=extra)
