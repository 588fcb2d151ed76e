"""Built-in study plugins; importing this package registers them."""

from benchbench.studies import kumar2018, locatello2019, locatello2020  # noqa: F401
