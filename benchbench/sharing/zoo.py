"""A zoo: bundles published side by side, with one ``zoo.json`` that lists them — where each is
(relative to the index, or a URL of its own), its hash, its run and grid, and each model's
config and headline metrics — so ``zoo list URL`` shows what there is and ``pull URL CELL…``
imports single models, checked against the hash the index gives their bundle."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchbench.core.files import atomic_write_bytes, atomic_write_json
from benchbench.core.provenance import now
from benchbench.core.registry import BenchbenchError
from benchbench.sharing.bundle import choose, verify_bundle
from benchbench.sharing.importing import Imported, import_bundle
from benchbench.sharing.transfer import Refused, Remote

INDEX = "zoo.json"
PAGE = "README.md"
FORMAT = "benchbench-zoo"
VERSION = 1


def write_index(folder: Path) -> dict[str, Any]:
    """Index every bundle (a folder with a ``bundle.json``, or a ``.tar``) directly in ``folder``,
    each checked whole first, into ``folder/zoo.json`` (and ``README.md``, the same for a person)."""
    bundles = []
    for path in sorted(folder.iterdir()):
        if not ((path / "bundle.json").is_file() or (path.is_file() and path.suffix == ".tar")):
            continue
        listing = verify_bundle(path, str(path))
        cells = {
            cell_id: {k: entry[k] for k in ("label", "config", "headline")} for cell_id, entry in listing.cells.items()
        }
        bundles.append(
            {
                "path": path.name,
                "hash": listing.hash,
                "run": listing.run,
                "grid": (listing.raw.get("grid") or {}).get("name"),
                "weights": listing.raw.get("weights"),
                "exported": listing.raw.get("exported"),
                "cells": cells,
            }
        )
    if not bundles:
        raise BenchbenchError(f"{folder} holds no bundle (a folder with bundle.json, or a .tar) to index")
    index = {"format": FORMAT, "version": VERSION, "indexed": now(), "bundles": bundles}
    atomic_write_json(folder / INDEX, index)
    atomic_write_bytes(folder / PAGE, _page(index).encode())
    return index


def _page(index: dict[str, Any]) -> str:
    """The zoo's ``README.md``, for a person browsing where it is published: each bundle, its
    models, and how to pull one (the numbers are in each bundle's own card)."""
    lines = ["# A benchbench zoo", "", f"Indexed {index['indexed']}; `zoo.json` lists the same for `benchbench`.", ""]
    for bundle in index["bundles"]:
        card = f"{bundle['path']}/README.md" if not bundle["path"].endswith(".tar") else "its README.md"
        lines += [
            f"## `{bundle['path']}`: run `{bundle['run']}`, grid `{bundle['grid']}`",
            "",
            f"{len(bundle['cells'])} models, weights {bundle['weights']}; bundle hash `{bundle['hash']}`; "
            f"model card: {card}.",
            "",
            "| model | label | steps |",
            "| --- | --- | --- |",
            *(f"| `{c}` | {e['label']} | {e['config'].get('steps', '—')} |" for c, e in bundle["cells"].items()),
            "",
        ]
    lines += ["One model: `benchbench pull <this folder's URL> <model id or a unique prefix>`.", ""]
    return "\n".join(lines)


def read_index(url: str) -> tuple[dict[str, Any], str]:
    """``(index, base)``: the zoo at ``url`` (its ``zoo.json``, or a folder holding one) and the
    URL its bundles' paths are relative to."""
    index_url = url if url.endswith(".json") else f"{url.rstrip('/')}/{INDEX}"
    try:
        index = json.loads(Remote(index_url).read_bytes())
    except ValueError:
        raise Refused(f"{index_url} is not JSON, so not a zoo index") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT or not isinstance(index.get("bundles"), list):
        raise Refused(f"{index_url} is not a benchbench zoo index")
    if index.get("version") != VERSION:
        raise Refused(f"{index_url}: zoo index version {index.get('version')}; this benchbench reads {VERSION}")
    return index, index_url.rsplit("/", 1)[0]


def rows(index: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per model of the zoo: its id, bundle, label, what it trained on, and its headline metrics."""
    found = []
    for bundle in index["bundles"]:
        for cell_id, entry in bundle["cells"].items():
            config = entry.get("config", {})
            metrics = {f"{m}.{o}": v for m, values in entry.get("headline", {}).items() for o, v in values.items()}
            found.append(
                {"cell": cell_id, "bundle": bundle["path"], "label": entry.get("label"), "steps": config.get("steps")}
                | metrics
            )
    return found


def pull(
    url: str,
    wanted: Iterable[str],
    results_dir: str | Path,
    name: str | None = None,
) -> list[Imported]:
    """Import the zoo's models ``wanted`` (ids or unique prefixes), each from the first bundle
    that lists it, fetching only their files; each bundle checked against the hash the index gives."""
    index, base = read_index(url)
    holder: dict[str, dict[str, Any]] = {}
    for bundle in index["bundles"]:
        for cell_id in bundle["cells"]:
            holder.setdefault(cell_id, bundle)
    chosen = choose(list(holder), wanted, f"the zoo at {url}")
    by_bundle: dict[str, list[str]] = {}
    for cell_id in chosen:
        by_bundle.setdefault(holder[cell_id]["path"], []).append(cell_id)
    done = []
    for bundle in index["bundles"]:
        if bundle["path"] in by_bundle:
            src = bundle["path"] if "://" in bundle["path"] else f"{base}/{bundle['path']}"
            done.append(import_bundle(src, results_dir, name, by_bundle[bundle["path"]], bundle["hash"]))
    return done
