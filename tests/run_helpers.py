"""Reading what a run wrote, the way the tests check it."""

from benchbench.store import CellStore


def values(store: CellStore) -> dict[str, dict[str, float]]:
    """``{metric: values}`` of the cell's finished evaluations (one per metric, asserted)."""
    done = [r for r in store.evaluations() if r["status"] == "done"]
    metrics = [r["metric"] for r in done]
    assert len(metrics) == len(set(metrics)), f"several evaluations of one metric: {metrics}"
    return {r["metric"]: r["values"] for r in done}


def assert_one_line_error(out, *parts: str) -> None:
    """A CLI result that is a user error: exit code 2 and one line that contains every part."""
    lines = out.output.strip().splitlines()
    assert out.exit_code == 2 and len(lines) == 1 and all(p in lines[0] for p in parts), out.output
