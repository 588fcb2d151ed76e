"""What a reader must know before trusting a number: the run's training settings, seeds and
metric options, and — loudly — where they are not the paper's protocol."""

from __future__ import annotations

import pandas as pd

from benchbench.core.registry import datasets, studies
from benchbench.evaluation.encoders import described
from benchbench.planning.cells import SETTINGS
from benchbench.planning.grids import TRAIN_DEFAULTS
from benchbench.plugin.study import study_of
from benchbench.storage.store import RunStore

TRAIN_FIELDS = ("arch", "latent_dim", "steps", "batch_size", "lr", *SETTINGS)
#: How the header names a setting away from its first value.
SETTING_WORDS = {
    "precision": lambda v: f"{v} layers (fp32 weights and loss)",
    "likelihood": lambda v: f"{v} likelihood",
    "init": lambda v: f"{v}'s initial weights",
    "adam": lambda v: f"{v}'s Adam",
    "train_images": lambda v: f"trained on {v} images",
}


def training_settings(run: RunStore) -> pd.DataFrame:
    """Each trained cell's dataset and training settings, read once for the header and the
    warnings (encoders scored here were not trained here: see :func:`scored`)."""
    cells = [s.cell() for s in run.cell_stores() if s.scored() is None]
    return pd.DataFrame(
        [[c.dataset, *(getattr(c, f) for f in TRAIN_FIELDS)] for c in cells], columns=["dataset", *TRAIN_FIELDS]
    )


def scored(run: RunStore) -> dict[str, list[str]]:
    """Per dataset, each encoder scored in the run (not trained here) as ``label: what it is``."""
    found: dict[str, dict[str, str]] = {}
    for store in run.cell_stores():
        if (record := store.scored()) is not None:
            found.setdefault(store.cell().dataset, {})[record.label] = f"{record.label}: {described(record)}"
    return {dataset: sorted(words.values()) for dataset, words in sorted(found.items())}


def _non_default(facts: dict[str, dict]) -> list[str]:
    """The metrics shown with options other than their defaults (:func:`benchbench.report.results.described`)."""
    return [metric for metric, fact in facts.items() if not fact["defaults"]]


def run_study(run: RunStore, name: str | None = None):
    """The study whose report ``run`` shows: ``name`` (``report --study``), else the one its
    manifest records, else the one that registered its grid; ``None`` for a run of no study."""
    if name is not None:
        return studies.get(name)
    manifest = run.manifest()
    found = manifest.study or study_of(manifest.grid_name)
    return studies.get(found) if found is not None and found in studies else None


def header(
    run: RunStore, training: pd.DataFrame, table: pd.DataFrame, facts: dict[str, dict], study
) -> list[tuple[str, str]]:
    """``(name, value)`` lines for the top of the page."""
    manifest = run.manifest()
    counts = table["status"].value_counts()
    training = training.drop_duplicates()
    lines = [
        ("Run", f"{run.path.name} (grid {manifest.grid_name})"),
        ("Study", f"{study.name}: {study.title}" if study else "none: the report shows what every run has"),
        ("Models", f"{len(table)}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))),
    ]
    for dataset, rows in training.groupby("dataset", sort=True):
        for _, r in rows.iterrows():
            lines.append(
                (
                    f"Training, {dataset}",
                    f"{r['arch']} architecture, {r['latent_dim']} latents, {r['steps']:,} steps, "
                    f"batch {r['batch_size']}, Adam lr {r['lr']:g}"
                    + "".join(
                        f", {SETTING_WORDS[name](r[name])}"
                        for name, allowed in SETTINGS.items()
                        if r[name] != allowed[0]
                    ),
                )
            )
    for dataset, words in scored(run).items():
        lines.append((f"Scored, not trained here, {dataset}", "; ".join(words)))
    for dataset in sorted(set(training["dataset"])):
        stand_in = datasets.get(dataset).stand_in if dataset in datasets else ""
        if stand_in:
            lines.append((f"Data, {dataset}", f"a stand-in for {stand_in}"))
    trained = table[table["status"] == "trained"]
    if not trained.empty:
        seeds = trained.groupby(["dataset", "label"])["seed"].nunique()
        lines.append(("Seeds per configuration", ", ".join(str(s) for s in sorted(set(seeds)))))
    profile = manifest.grid_spec.get("metric_profile")
    non_default = _non_default(facts)
    metrics = _evaluated(facts, table) + (f"; profile {profile!r}" if profile else "")
    metrics += f"; options not the defaults: {', '.join(non_default)}" if non_default else "; every one at its defaults"
    lines.append(("Metrics", metrics + " (see Evaluations shown)"))
    lines.append(("Code", f"git {str(manifest.git_commit)[:12]}; devices {', '.join(manifest.devices or [])}"))
    return lines


def _evaluated(facts: dict[str, dict], table: pd.DataFrame) -> str:
    """How many of the metrics the run asked for have results: "16 evaluated", or "4 of the 16
    asked have results" while the others have none yet (failed, not applicable, not computed)."""
    columns = [c for c in table.columns if c.partition(".")[0] in facts and c.count(".") >= 1]
    found = {c.partition(".")[0] for c in columns if table[c].notna().any()}
    return (
        f"{len(facts)} evaluated"
        if len(found) == len(facts)
        else f"{len(found)} of the {len(facts)} asked have results"
    )


def protocol_note(training: pd.DataFrame, facts: dict[str, dict], protocol: dict | None, named: bool = True) -> str:
    """How the run departs from its study's protocol, in one sentence for captions and figures
    ("" when it does not); not ``named``, the metrics off their defaults are counted, not listed
    by their names in code (a paper's footnote)."""
    found = protocol_warnings(training, facts, protocol, named)
    return found[0].split(". These numbers")[0] + "." if found else ""


def protocol_warnings(
    training: pd.DataFrame, facts: dict[str, dict], protocol: dict | None, named: bool = True
) -> list[str]:
    """Each way the run departs from the protocol its study's numbers were published at (the
    study's ``protocol``: training settings), in one sentence; none for a run of no study."""
    if protocol is None:
        return []
    paper = {**TRAIN_DEFAULTS, **protocol}
    departures = []
    for name in ("steps", "batch_size", "lr", *SETTINGS):
        values = sorted(set(training[name]))
        if values and values != [paper[name]]:
            text = {"steps": lambda v: f"{v:,}", **dict.fromkeys(SETTINGS, str)}.get(name, lambda v: f"{v:g}")
            shown = ", ".join(text(v) for v in values)
            departures.append(f"{name.replace('_', ' ')} {shown} (paper grid: {text(paper[name])})")
    non_default = _non_default(facts)
    if non_default:
        which = ", ".join(non_default) if named else f"{len(non_default)} metric{'s' if len(non_default) > 1 else ''}"
        departures.append(f"metric options other than the defaults for {which}")
    if not departures:
        return []
    return [
        "Not the paper's protocol: " + "; ".join(departures) + ". These numbers are not comparable to "
        "the paper's values printed beside them, which come from its full protocol."
    ]
