"""benchbench: train and compare disentangled-representation learners reproducibly."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``benchbench.score``, imported on first use (it brings torch and the metrics)."""
    if name == "score":
        from benchbench.scoring import score

        return score
    raise AttributeError(f"module 'benchbench' has no attribute {name!r}")
