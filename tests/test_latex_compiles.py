"""The report's LaTeX compiles with pdflatex, as a paper pastes it (every float ``\\input`` into one
article) and as ``--standalone`` documents, with nothing clipped (no overfull box)."""

import shutil
import subprocess

import pytest
from click.testing import CliRunner
from test_report import paper_run, report

from benchbench.report.latex import PACKAGES

pytestmark = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="no TeX installation (pdflatex) on this machine: .ci/run installs Debian's texlive-latex-* where it can",
)

#: A paper with the packages each float names in its first line.
ARTICLE = "\\documentclass{article}\n\\usepackage{%s}\n\\begin{document}\n%s\n\\end{document}\n"


def pdflatex(folder, name: str) -> str:
    """Compile ``name`` in ``folder``; the log, which must hold no error and no overfull box."""
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / name).with_suffix(".log").read_text(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert (folder / name).with_suffix(".pdf").stat().st_size > 1000
    assert not [w for w in ("Overfull \\hbox", "Overfull \\vbox", "Float too large") if w in log], log
    return log


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The paper-like run's LaTeX: its floats (with ``--interval``) and its standalone documents."""
    runner = CliRunner()
    run = paper_run(tmp_path_factory.mktemp("latex"))
    floats, _ = report(runner, run, "--format", "latex", "--interval")
    standalone = run.path / "standalone"
    report(runner, run, "--format", "latex", "--standalone", "--out", str(standalone))
    return floats, standalone


def test_every_float_compiles_in_one_article_with_unique_labels(reports):
    floats, _ = reports
    tables = sorted(p.stem for p in floats.glob("*.tex"))
    assert {"table1", "table2_celeba", "table3_shapes2d", "table4_celeba"} <= set(tables)
    (floats / "paper.tex").write_text(ARTICLE % (PACKAGES, "\n".join(f"\\input{{{t}}}\n\\clearpage" for t in tables)))
    assert all((floats / f"{t}.tex").read_text().startswith(f"% needs \\usepackage{{{PACKAGES}}}") for t in tables)
    log = pdflatex(floats, "paper.tex")
    assert "multiply defined" not in log and "Undefined control sequence" not in log


def test_every_standalone_document_compiles_unclipped(reports):
    _, standalone = reports
    documents = sorted(standalone.glob("*.tex"))
    assert len(documents) >= 4
    for document in documents:
        pdflatex(standalone, document.name)
