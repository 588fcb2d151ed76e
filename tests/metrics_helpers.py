import numpy as np


def hinge_loss(s, y, b):
    """Σ max(0, 1 − y (s + b)), written out."""
    return float(np.sum(np.maximum(0.0, 1.0 - y * (s + b))))
