"""``python -m benchbench``: the CLI, for environments whose scripts folder is not on PATH."""

from benchbench.cli import cli

cli(prog_name="benchbench")
