"""The report's LaTeX compiles with pdflatex, as a paper pastes it (every float ``\\input`` into one
article) and as ``--standalone`` documents, with nothing clipped (no overfull box)."""

import re
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


def test_paper_tables_are_8pt_unshrunk_in_one_column_with_two_line_captions_and_the_protocol_once(tmp_path):
    """``--paper``: every float at 8 pt (``\\footnotesize`` in a 10 pt article) and never scaled,
    compiling with no overfull box in one article column; captions of two lines at most (160
    characters of text) with no name in code; the protocol once, under each table."""
    run, folder = paper_run(tmp_path), tmp_path / "p"
    report(CliRunner(), run, "--format", "latex", "--paper", "--interval", "--out", str(folder))
    tables = sorted(p.stem for p in folder.glob("*.tex"))
    for name in tables:
        tex = (folder / f"{name}.tex").read_text()
        assert "\\footnotesize" in tex and "\\resizebox" not in tex, name
        for caption in re.findall(r"\\caption\{(.*)\}\n", tex):
            text = re.sub(r"\\[a-z]+|[\\${}]", "", caption)
            assert len(text) <= 160 and "\\_" not in caption, (name, caption)  # an escaped _: a name in code
    table1 = (folder / "table1.tex").read_text()
    assert "[" not in table1.split("\\midrule", 1)[1]  # no intervals, even asked for
    assert table1.count("Not the paper's protocol") == 1 and "\\textit{2D Shapes, n = 2}" in table1  # a heading row
    (folder / "paper.tex").write_text(ARTICLE % (PACKAGES, "\n".join(f"\\input{{{t}}}\n\\clearpage" for t in tables)))
    assert "Undefined control sequence" not in pdflatex(folder, "paper.tex")  # no overfull box either


def test_paper_table1_of_one_dataset_fits_one_column_of_a_two_column_paper(tmp_path):
    """``--paper`` Table 1 of one dataset at 8 pt fits a two-column article's 229.5 pt column: its
    seed count in the dataset's heading row, not a column; a column of small values in ×10⁻ᵏ
    (0.0021 ± 0.0001 shown as 2.1 ± 0.1, the header saying so); the spread one size smaller."""
    run, folder = paper_run(tmp_path), tmp_path / "p"
    for cell in (run.path / "cells").iterdir():
        if '"celeba"' in (cell / "config.json").read_text():
            shutil.rmtree(cell)
    report(CliRunner(), run, "--format", "latex", "--paper", "--out", str(folder))
    table1 = (folder / "table1.tex").read_text()
    assert "\\textit{2D Shapes, n = 2}" in table1 and "Method & n &" not in table1
    assert "$\\times 10^{-2}$" in table1  # reconstruction errors 0.0020-0.0105: ×10⁻²
    assert "0.21 & {\\scriptsize $\\pm$0.01}" in table1  # VAE: 0.0021 ± 0.0001 (seeds 0.0020, 0.0022)
    (folder / "paper.tex").write_text(
        ARTICLE.replace("{article}", "[twocolumn]{article}") % (PACKAGES, "\\input{table1}")
    )
    pdflatex(folder, "paper.tex")  # no overfull box
