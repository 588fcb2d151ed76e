"""Built-in metric plugins; importing this package registers them."""

from benchbench.metrics import reconstruction_error  # noqa: F401
