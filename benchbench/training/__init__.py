"""Packs → trainer: the pack trainer (``trainer``: stacked parameters, one vmapped loss,
per-model Adam, checkpoints), the run that plans packs and runs each as a self-contained job —
training, then evaluating what it trained — in-process or on local GPUs (``runner``) or as Dask
tasks (``cluster``), and the trainer's throughput benchmark (``bench``)."""
