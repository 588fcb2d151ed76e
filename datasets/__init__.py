"""Built-in dataset plugins; importing this package registers them."""

from benchbench.datasets import shapes2d  # noqa: F401
