"""The ``cowrieprocessor`` command line: one module per command group, registered in ``main``."""

from cowrieprocessor.cli import startup

startup.defer_collections()  # until the command has its database (see ``startup``)
