"""Built-in dataset plugins; importing this package registers them."""

from benchbench.datasets import cars3d, celeba, chairs, dsprites, mpi3d, shapes2d, shapes3d, smallnorb  # noqa: F401
