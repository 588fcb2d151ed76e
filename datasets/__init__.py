"""Built-in dataset plugins; importing this package registers them."""

from benchbench.datasets import (  # noqa: F401  (nuisance.py: a mixin, registers nothing)
    cars3d,
    celeba,
    chairs,
    color_dsprites,
    dsprites,
    mpi3d,
    noisy_dsprites,
    scream_dsprites,
    shapes2d,
    shapes3d,
    smallnorb,
)
