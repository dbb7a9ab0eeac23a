"""The ``hpsearch`` command: the click group with every command registered on it.

Each command module adds its commands to the group in ``group.py``; importing them here is what
registers them. A new command goes in a module of its own, listed below.
"""

from __future__ import annotations

from hpsearch.cli import (
                          export_command,
                          init_command,
                          list_command,
                          predict_command,
                          refine_command,
                          report_command,
                          report_commands,
                          search_commands,
)
from hpsearch.cli.group import main

__all__ = ["export_command", "init_command", "list_command", "main", "predict_command", "refine_command",
           "report_command", "report_commands", "search_commands"]
