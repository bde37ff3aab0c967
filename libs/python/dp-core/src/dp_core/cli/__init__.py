"""The `dp` command line: one entry point, verbs on nouns (``dp config show``, ``dp ingest simulate``).

Platform units add their noun groups through the ``dp.commands`` entry-point group, so this lib never imports
platform code; commands are loaded only when they are invoked.
"""

from dp_core.cli.context import CliContext, pass_cli

__all__ = ["CliContext", "pass_cli"]
