"""benchbench: train and compare disentangled-representation learners reproducibly."""

__version__ = "0.1.0"
