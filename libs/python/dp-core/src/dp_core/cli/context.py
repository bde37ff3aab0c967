"""The state every `dp` command receives: the process environment and the settings, built once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import click

from dp_core.config import LoadedConfig, find_config_dir, load_settings
from dp_core.config.models import PlatformSettings
from dp_core.logs import configure_logging


@dataclass
class CliContext:
    """Built once by the root command; commands read settings from it instead of from the environment."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    env: str | None = None
    debug: bool = False
    _loaded: dict[str | None, LoadedConfig] = field(default_factory=dict)

    def config_dir(self) -> Path:
        return find_config_dir(self.cwd, self.environ)

    def load(self, env: str | None = None) -> LoadedConfig:
        """The effective configuration of ``env`` (default: ``--env``, then ``DP_ENV``, then ``local``)."""
        key = env or self.env
        if key not in self._loaded:
            self._loaded[key] = load_settings(self.config_dir(), self.environ, env=key)
        return self._loaded[key]

    @property
    def settings(self) -> PlatformSettings:
        """The settings of the selected environment; logging is configured from them on first use."""
        first = (self.env) not in self._loaded
        loaded = self.load()
        if first:
            configure_logging(loaded.settings.logging)
        return loaded.settings


pass_cli = click.make_pass_decorator(CliContext)
