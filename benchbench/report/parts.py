"""The parts a report is made of, with no drawing in them: a :class:`Section` (one table or figure
with its files and notes), a :class:`Table` (as LaTeX and HTML both show it), a :class:`Claim`
and the one rule that judges it (:func:`verdict`), and how papers name datasets, outputs, β
sweeps and DIP-VAE configurations.

A study plugin builds its sections and claims from these (through :mod:`benchbench.api`), so a
report knows no paper and a paper knows no drawing code."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import pandas as pd

from benchbench.core.registry import datasets, methods
from benchbench.plugin.metric import shown_output
from benchbench.report.numbers import Column

#: What the bracketed interval beside a mean is, for captions and the page to state.
INTERVAL_RULE = (
    "In brackets: a 95 % interval for the mean, the percentile bootstrap over seeds (10,000 resamples "
    "from seed 0); not drawn below 3 seeds, where resampling one or two values says nothing of the spread."
)


def slug(text: str) -> str:
    """``text`` as a file name or an anchor: letters, digits and underscores (β → beta, λ → lambda)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text.replace("β", "beta").replace("λ", "lambda")).strip("_")


@dataclass
class Table:
    """A table as both LaTeX and HTML show it: label columns, numeric columns, row groups."""

    label_headers: list[str]
    labels: list[list[str]]
    columns: list[Column]
    groups: list


@dataclass
class Section:
    """One table or figure of the report: what it is, how it was made, and what is missing."""

    title: str
    caption: str
    html: str = ""
    #: The caption a paper prints (``report --paper``): two lines at most, no code names; by
    #: default the caption's first sentence in words (:func:`~benchbench.report.sections.paper_caption`).
    short: str = ""
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return slug(self.title).lower()


def _registered_title(registry, name: str) -> str:
    return (registry.get(name).title or name) if name in registry else name


def title_of(dataset: str) -> str:
    """A dataset as papers name it ("2D Shapes"): its registered ``title``, else its name."""
    return _registered_title(datasets, dataset)


def method_title(method: str) -> str:
    """A method as papers name it ("β-VAE"): its registered ``title``, else its name."""
    return _registered_title(methods, method)


def heading(output: str, higher: bool | None) -> str:
    """An output as a row or column heading: its words, "(%)" for an accuracy, ↑ or ↓ where it
    is better higher or lower."""
    shown = shown_output(output)
    unit = " (%)" if shown.to_percent is not None else ""
    arrow = {True: " ↑", False: " ↓"}.get(higher, "")
    return f"{shown.words}{unit}{arrow}"


def cells_of(table: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The trained cells (sorted by seed) of the configuration an aggregate row describes."""
    mask = (table["dataset"] == row["dataset"]) & (table["label"] == row["label"]) & (table["status"] == "trained")
    return table[mask].sort_values("seed")


def beta_sweep(rows: pd.DataFrame) -> pd.DataFrame:
    """The β-VAE rows (of a tidy or an aggregate table), with the VAE's as β = 1 where there is
    no β-VAE at β = 1: a β sweep as papers plot and test it."""
    betas = rows[rows["method"] == "beta_vae"].copy()
    vae = rows[rows["method"] == "vae"].copy()
    if not vae.empty and not (betas.get("hp.beta", pd.Series(dtype=float)) == 1).any():
        vae["hp.beta"] = 1.0
        betas = pd.concat([betas, vae])
    return betas


def dip_name(row: pd.Series) -> str:
    """A DIP-VAE configuration named as papers name it: its variant in roman numerals, any other
    setting that makes it a variant of its own, and its λ_od ("DIP-VAE-I (λ_od = 10)")."""
    roman = str(row.get("hp.variant", "")).upper() if pd.notna(row.get("hp.variant")) else ""
    inside = row["variant"].partition(" (")[2].rstrip(")")
    parts = [p for p in inside.split(", ") if p and not p.startswith("variant =")]
    if pd.notna(row.get("hp.lambda_od")):
        parts.append(f"λ_od = {row['hp.lambda_od']:g}")
    name = f"DIP-VAE-{roman}" if roman else "DIP-VAE"
    return f"{name} ({', '.join(parts)})" if parts else name


# ----------------------------------------------------------------------------------- claims
#: A claim is supported only where every test of it gives p below this.
SIGNIFICANCE = 0.05
SUPPORTED, NOT_SUPPORTED, NOT_TESTABLE = "supported", "not supported", "not testable with this run"


@dataclass
class Claim:
    """One claim of a study on one dataset, with the run's evidence and its verdict."""

    dataset: str
    claim: str
    source: str
    verdict: str
    evidence: str


def verdict(holds: bool, p: float, floor: float, evidence: str, testable_with: str = "") -> tuple[str, str]:
    """``(verdict, evidence)`` of a claim whose means go the claimed way (``holds``) with test p
    ``p``, where no outcome of this run could give less than ``floor``: not testable where even
    ``floor`` is not below :data:`SIGNIFICANCE` — whichever way the means go, a run that could not
    have shown it is no evidence against it — saying the run that would be (``testable_with``);
    else supported where ``p`` is below it, not supported where it is not."""
    if not floor < SIGNIFICANCE:
        way = "go the claimed way" if holds else "go the other way"
        needs = f"; a run with {testable_with} could" if testable_with else ""
        return NOT_TESTABLE, (
            f"{evidence}. The means {way}, but with these seeds no outcome could reach "
            f"p < {SIGNIFICANCE:g} (the smallest possible p is {floor:.2g}){needs}"
        )
    if not holds:
        return NOT_SUPPORTED, evidence
    if p < SIGNIFICANCE:
        return SUPPORTED, evidence
    return NOT_SUPPORTED, f"{evidence}. The means go the claimed way, not distinguishably (p ≥ {SIGNIFICANCE:g})"


def claims_frame(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) for c in claims], columns=list(Claim.__dataclass_fields__))
