"""Reading what a run wrote, the way the tests check it."""

from benchbench.store import CellStore


def values(store: CellStore) -> dict[str, dict[str, float]]:
    """``{metric: values}`` of the cell's finished evaluations (one per metric, asserted)."""
    done = [r for r in store.evaluations() if r["status"] == "done"]
    metrics = [r["metric"] for r in done]
    assert len(metrics) == len(set(metrics)), f"several evaluations of one metric: {metrics}"
    return {r["metric"]: r["values"] for r in done}
