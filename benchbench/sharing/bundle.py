"""A bundle: a run's chosen models as plain files that anyone can check, with or without benchbench.

Layout (a folder, or the same files in one ``.tar``)::

    bundle.json          the listing: format and version, the run and its grid, each model
                         (training config's id, label, how it trained, headline metrics) and every
                         other file with its size and SHA-256
    SHA256SUMS           every file but itself, as ``sha256sum -c SHA256SUMS`` checks it
    README.md            the model card (:mod:`benchbench.sharing.card`)
    manifest.json        the run's manifest: grid, evaluations, software, devices
    packs/<id>/pack.json which cells trained together (their rounding depends on it)
    cells/<id>/          config.json (it hashes to <id>), train_log.csv, model.safetensors,
                         snapshots/<step>/model.safetensors, evaluations/<metric>/<key>/…

A bundle's hash is the SHA-256 of its ``bundle.json``: that file pins every other file's bytes, so
one hash (a zoo's index holds it) names the whole bundle.  Weights are safetensors, which load
without pickle and without benchbench; a bundle made ``--no-weights`` holds records and curves only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import safetensors.torch
import torch

from benchbench.core.files import atomic_write_bytes, file_facts, stream_facts
from benchbench.core.provenance import now, versions
from benchbench.core.records import EvaluationRecord
from benchbench.core.registry import BenchbenchError, one_line
from benchbench.planning.cells import Cell
from benchbench.plugin.metric import shown_name
from benchbench.report.results import described, evaluation_keys
from benchbench.report.settings import protocol_note, run_study, training_settings
from benchbench.sharing.card import model_card
from benchbench.sharing.transfer import Refused, filesystem, is_local
from benchbench.storage.store import CellStore, RunStore

FORMAT = "benchbench-bundle"
VERSION = 1
LISTING = "bundle.json"
SUMS = "SHA256SUMS"
CARD = "README.md"
WEIGHTS = "model.safetensors"
#: Facts of a cell's status that say where it stands, not how it trained: never carried by a bundle.
NOT_TRAINING = {"status", "files", "error", "imported", "scored"}


def weights_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    """A state dict as safetensors bytes: the same tensors give the same bytes, so their hash
    says whether two models are the same weights."""
    return safetensors.torch.save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()})


def weights_from(data: bytes) -> dict[str, torch.Tensor]:
    return safetensors.torch.load(data)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class Listing:
    """A bundle's ``bundle.json``, read and checked: its files' names are safe relative paths, and
    ``hash`` is the SHA-256 of the bytes it was read from (the bundle's hash)."""

    raw: dict[str, Any]
    hash: str

    @classmethod
    def parse(cls, data: bytes, where: str) -> Listing:
        try:
            raw = json.loads(data)
        except ValueError:
            raise Refused(f"{where}: {LISTING} is not JSON, so this is not a bundle") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise Refused(f"{where}: {LISTING} is not a benchbench bundle's listing")
        if raw.get("version") != VERSION:
            raise Refused(f"{where}: bundle format version {raw.get('version')}; this benchbench reads {VERSION}")
        files, cells = raw.get("files"), raw.get("cells")
        if not isinstance(files, dict) or not isinstance(cells, dict):
            raise Refused(f"{where}: {LISTING} lists no files or no models")
        if not all(isinstance(entry, dict) for entry in cells.values()):
            raise Refused(f"{where}: {LISTING} lists a model that is not a JSON object")
        for name, facts in files.items():
            if not _safe(name) or not isinstance(facts, dict) or not {"size", "sha256"} <= set(facts):
                raise Refused(f"{where}: {LISTING} lists {name!r}, which is not a file inside a bundle")
        return cls(raw, digest(data))

    cells = property(lambda self: self.raw["cells"])
    files = property(lambda self: self.raw["files"])
    run = property(lambda self: self.raw.get("run"))
    has_weights = property(lambda self: self.raw.get("weights") == "safetensors")

    def chosen(self, wanted: Iterable[str] | None, where: str) -> list[str]:
        """The bundle's cell ids that ``wanted`` names (ids or unique prefixes; ``None``: all)."""
        return choose(list(self.cells), wanted, where)

    def files_of(self, cells: list[str]) -> list[str]:
        """What importing ``cells`` needs: the run's files and theirs (their packs, their folders)."""
        packs = {self.cells[c].get("training", {}).get("pack") for c in cells}
        mine = tuple(f"cells/{c}/" for c in cells) + tuple(f"packs/{p}/" for p in packs if p)
        return [n for n in self.files if "/" not in n or n.startswith(mine)]


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and "\\" not in name and not path.is_absolute() and ".." not in path.parts


def choose(ids: list[str], wanted: Iterable[str] | None, where: str) -> list[str]:
    """``ids`` that ``wanted`` names, each by its id or a prefix naming one; a one-line error else."""
    if wanted is None:
        return ids
    found = []
    for name in wanted:
        matches = [i for i in ids if i.startswith(name)]
        if len(matches) != 1:
            problem = f"matches {len(matches)} models" if matches else "is no model"
            some = ", ".join(ids[:5]) + (f", … ({len(ids)} in all)" if len(ids) > 5 else "")
            raise BenchbenchError(f"{name!r} {problem} of {where} (models: {some or 'none'})")
        found += [m for m in matches if m not in found]
    return found


def _config_id(config: Any) -> str | None:
    try:
        return Cell.from_config(config).id
    except TypeError:
        return None


def check_cells(folder: Path, listing: Listing, cells: list[str], where: str) -> None:
    """Refuse a bundle whose cell ids are not the hashes of their configs — the one in each
    cell's folder and the one its listing gives (its names would say one model and hold another)
    — or whose evaluation records cannot be read with their arrays: before anything is merged."""
    for cell_id in cells:
        try:
            config = json.loads((folder / "cells" / cell_id / "config.json").read_bytes())
        except (OSError, ValueError):
            raise Refused(f"{where}: cell {cell_id} has no readable config: nothing imported") from None
        for actual in {_config_id(config), _config_id(listing.cells[cell_id].get("config"))}:
            if actual != cell_id:
                raise Refused(
                    f"{where}: cell {cell_id}'s config hashes to {actual}: the bundle's cell ids do not match "
                    "its configs, nothing imported"
                )
        for path in sorted((folder / "cells" / cell_id).rglob("evaluation.json")):
            try:
                record = EvaluationRecord.from_json(json.loads(path.read_bytes()))
            except ValueError:
                record = None
            if record is None or not all((path.parent / name).is_file() for name in record.files or {}):
                raise Refused(f"{where}: {path.relative_to(folder)} is not a whole evaluation record: nothing imported")


def verify_bundle(path: Path, where: str) -> Listing:
    """The listing of the whole bundle at ``path`` (a folder or a ``.tar``), every file checked
    against it — size, then SHA-256 — and nothing there that it does not name."""
    with contextlib.ExitStack() as stack:
        if path.is_dir():
            names = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}

            def opened(name):
                return stack.enter_context(open(path / name, "rb"))
        else:
            try:
                tar = stack.enter_context(tarfile.open(path, "r:"))
                members = {m.name: m for m in tar.getmembers()}
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise Refused(f"{where} is not a whole tar ({one_line(exc)}): nothing imported") from None
            if unsafe := [n for n, m in members.items() if not (m.isfile() and _safe(n))]:
                raise Refused(f"{where} holds {unsafe[0]!r}, not a file inside a bundle: nothing imported")
            names = set(members)

            def opened(name):
                return tar.extractfile(members[name])

        if LISTING not in names:
            raise Refused(f"{where} holds no {LISTING}, so it is not a bundle")
        listing = Listing.parse(opened(LISTING).read(), where)
        if extra := sorted(names - set(listing.files) - {LISTING, SUMS}):
            raise Refused(f"{where} holds {extra[0]}, which its listing does not name: nothing imported")
        for name, facts in listing.files.items():
            if name not in names:
                raise Refused(f"{where} lacks {name}, which its listing names: nothing imported")
            found = stream_facts(opened(name))
            size, sha = found["size"], found["sha256"]
            if size != facts["size"]:
                raise Refused(
                    f"{where}: {name} has {size} bytes, not the {facts['size']} its bundle lists: nothing imported"
                )
            if sha != facts["sha256"]:
                raise Refused(f"{where}: {name} has other bytes than its bundle lists (SHA-256): nothing imported")
    return listing


# ------------------------------------------------------------------------------------- export
def _evaluation_files(store: CellStore) -> list[Path]:
    """A model's undamaged evaluation records and their arrays (a damaged one is said, left out)."""
    found = []
    for record in store.evaluations(verify=True):
        folder = store.evaluation_path(record.metric, record.key)
        found += [folder / "evaluation.json", *(folder / name for name in record.files or {})]
    return found


def _headline(store: CellStore, grid: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The grid's evaluations of a model: each metric's outputs with a declared direction (all
    of a metric that declares none)."""
    found = {}
    for spec in grid:
        record = store.evaluation(spec["metric"], spec["key"])
        if record is not None and record.done:
            values = {k: v for k, v in record.values.items() if not record.better or k in record.better}
            found[shown_name(spec["metric"], spec["options"])] = values
    return found


def _cells_to_export(run: RunStore, wanted: Iterable[str] | None) -> list[CellStore]:
    stores = {s.path.name: s for s in run.cell_stores()}
    statuses = {i: s.status() for i, s in stores.items()}
    trained = [i for i, s in statuses.items() if s.status == "trained" and s.scored is None]
    chosen = choose(trained, wanted, f"{run.path}'s trained models")
    weights = not run.keeps_no_weights()
    damaged = [i for i in chosen if stores[i].damaged_files(verify=True, weights=weights)]
    if damaged:
        raise BenchbenchError(f"{run.path}: model {damaged[0]} is damaged (said above); nothing exported")
    if not chosen:
        scored = sum(s.scored is not None for s in statuses.values())
        why = f" (its {scored} scored encoders were not trained here)" if scored else ""
        raise BenchbenchError(f"{run.path} has no trained model to export{why}")
    return [stores[i] for i in chosen]


def _write_cell(store: CellStore, out: Path, weights: bool) -> None:
    """A cell's files under ``out`` (its folder in the bundle): config, curve, evaluations, and
    each model's weights as safetensors."""
    copied = [store.config_path, store.log_path] + _evaluation_files(store)
    for model in store.snapshots():
        copied += _evaluation_files(model)
    for path in (p for p in copied if p.is_file()):
        target = out / path.relative_to(store.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for model in store.models() if weights else []:
        if model.model_path.exists():
            target = out / model.path.relative_to(store.path) / WEIGHTS
            atomic_write_bytes(target, weights_bytes(model.load_model()))


def _protocol(run: RunStore) -> str:
    """How the run departs from its study's protocol, in its report's words ("" where it does not)."""
    study = run_study(run)
    facts = described(run, evaluation_keys(run)[0])
    note = protocol_note(training_settings(run), facts, study.protocol if study else None)
    return f"{note} These numbers are not comparable to the paper's, which come from its full protocol." if note else ""


def build(run: RunStore, out: Path, wanted: Iterable[str] | None = None, weights: bool = True) -> Listing:
    """Write the bundle of ``run``'s chosen trained models into the empty folder ``out``."""
    stores = _cells_to_export(run, wanted)
    weights = weights and not run.keeps_no_weights()
    manifest = run.manifest()
    cells = {}
    for store in stores:
        cell, status = store.cell(), store.status()
        _write_cell(store, out / "cells" / cell.id, weights)
        training = {k: v for k, v in status.to_json().items() if k not in NOT_TRAINING}
        pack = run.pack_store(status.pack) if status.pack else None
        if pack is not None and pack.info_path.is_file():
            (out / "packs" / pack.id).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pack.info_path, out / "packs" / pack.id / "pack.json")
        cells[cell.id] = {
            "label": cell.label,
            "config": cell.config(),
            "training": training,
            "snapshots": [m.step for m in store.snapshots()],
            "headline": _headline(store, manifest.evaluations),
        }
    shutil.copyfile(run.manifest_path, out / "manifest.json")
    raw = {
        "format": FORMAT,
        "version": VERSION,
        "run": run.path.name,
        "grid": manifest.grid,
        "exported": now(),
        "exported_with": versions(),
        "weights": "safetensors" if weights else "not included",
        "cells": cells,
    }
    (out / CARD).write_text(model_card(raw, manifest, _protocol(run)))
    raw["files"] = {str(p.relative_to(out).as_posix()): file_facts(p) for p in sorted(out.rglob("*")) if p.is_file()}
    data = (json.dumps(raw, indent=2, sort_keys=True) + "\n").encode()
    (out / LISTING).write_bytes(data)
    sums = {**{n: f["sha256"] for n, f in raw["files"].items()}, LISTING: digest(data)}
    (out / SUMS).write_text("".join(f"{sums[n]}  {n}\n" for n in sorted(sums)))
    return Listing(raw, digest(data))


def _tar(folder: Path, target: Path) -> None:
    """The folder's files as one tar, the same bytes for the same files (sorted, no times or owners)."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mode = path.stat().st_size, 0o644
            with open(path, "rb") as fh:
                tar.addfile(info, fh)


def export_run(run: RunStore, dest: str, wanted: Iterable[str] | None = None, weights: bool = True) -> Listing:
    """Write the bundle to ``dest`` — a folder, or one file if it ends in ``.tar``; a local path or
    any fsspec URL — so that it appears whole or not at all: built aside, then renamed into place
    (uploaded with ``bundle.json`` last, the file a reader starts from)."""
    as_tar = dest.endswith(".tar")
    fs, path = filesystem(dest)
    if fs.exists(path):
        raise BenchbenchError(f"{dest} exists: export to a new name (or delete it first)")
    local = Path(path) if is_local(dest) else None
    if local is not None:
        local.parent.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(dir=local.parent if local else None, prefix=".export.", suffix=".tmp"))
    try:
        folder = aside / "bundle"
        folder.mkdir()
        listing = build(run, folder, wanted, weights)
        if as_tar:
            _tar(folder, aside / "bundle.tar")
        if local is not None:
            os.replace(aside / "bundle.tar" if as_tar else folder, local)
        elif as_tar:
            fs.put_file(str(aside / "bundle.tar"), path)
        else:
            names = sorted(listing.files) + [SUMS, LISTING]
            for name in names:
                fs.put_file(str(folder / name), f"{path.rstrip('/')}/{name}")
        return listing
    finally:
        shutil.rmtree(aside, ignore_errors=True)
