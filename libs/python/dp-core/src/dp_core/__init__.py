"""DTHEINFRA core library: configuration, errors, logging and the `dp` command-line shell.

Nothing here reads the environment or the configuration at import time: entry points build a
:class:`~dp_core.config.PlatformSettings` once and pass it down.
"""

__version__ = "0.1.0"
