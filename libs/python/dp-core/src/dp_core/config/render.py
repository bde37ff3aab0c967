"""Printing the effective configuration with the source of every value; secrets always redacted."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import SecretStr

from dp_core.config.loader import LoadedConfig

REDACTED = "********"


def _redacted(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dt.datetime):  # as written in YAML, so that a printed value can be pasted back
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def redacted_tree(loaded: LoadedConfig) -> dict[str, Any]:
    """The settings as plain data with every secret replaced by a fixed mask."""
    data: dict[str, Any] = _redacted(loaded.settings.model_dump(mode="python"))
    return data


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            yield from _leaves(sub, f"{path}.{key}" if path else str(key))
    else:
        yield path, value


def render_text(loaded: LoadedConfig) -> str:
    """One ``key = value   # source`` line per leaf, grouped by section."""
    rows = [
        (path, json.dumps(value), loaded.sources.get(path, "default")) for path, value in _leaves(redacted_tree(loaded))
    ]
    width = max(len(p) + len(v) for p, v, _ in rows) + 4
    lines = [f"# effective configuration of environment {loaded.env!r} (config dir {loaded.config_dir})"]
    section = ""
    for path, value, source in rows:
        head = path.split(".", 1)[0]
        if head != section:
            section = head
            lines.append("")
        lines.append(f"{path} = {value}".ljust(width) + f"# {source}")
    return "\n".join(lines)


def render_json(loaded: LoadedConfig) -> str:
    """``{"env", "config", "sources"}`` as JSON: the redacted tree and the source of every leaf."""
    return json.dumps(
        {"env": loaded.env, "config": redacted_tree(loaded), "sources": dict(sorted(loaded.sources.items()))},
        indent=2,
    )
