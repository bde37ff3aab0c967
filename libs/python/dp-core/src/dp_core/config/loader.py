"""Builds the effective configuration from its layers, remembering where every value came from.

Layers, lowest precedence first:

1. the defaults in :mod:`dp_core.config.models`;
2. ``config/base/*.yaml`` (in file-name order);
3. ``config/environments/<env>.yaml``, the environment chosen by ``DP_ENV`` (default ``local``);
4. secret files: ``<secrets dir>/<dotted.key>`` (``config/secrets/<env>/`` or ``DP_SECRETS_DIR``);
5. environment variables: ``DP_<SECTION>_<KEY>``, deeper keys joined by ``__``
   (``DP_ICEBERG_CATALOG__URI``); ``DP_<...>_FILE`` reads a secret from a file.

Mappings deep-merge across layers; scalars and lists replace. Every problem (unknown key, wrong type, secret in
YAML, unreadable file) is collected and raised together as one :class:`~dp_core.errors.ConfigError` naming the
dotted key, the layer and the expected type. The loader never reads ``os.environ`` itself: the entry point
passes the environment in.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dp_core.config.models import PlatformSettings
from dp_core.config.schema import Node, field_node, node_at, type_name
from dp_core.errors import ConfigError

ENV_PREFIX = "DP_"
DEFAULT_ENV = "local"
#: Variables with the prefix that steer the loader itself rather than naming a key.
RESERVED_VARIABLES = frozenset({"DP_ENV", "DP_CONFIG_DIR", "DP_SECRETS_DIR"})
DEFAULT_SOURCE = "default"
_META_KEYS = frozenset({"env"})


@dataclass(frozen=True)
class LoadedConfig:
    """The effective settings of one environment and the source of each leaf value."""

    settings: PlatformSettings
    sources: Mapping[str, str]
    config_dir: Path

    @property
    def env(self) -> str:
        return self.settings.env

    @property
    def repo_root(self) -> Path:
        """The folder that holds ``config/`` (the checkout)."""
        return self.config_dir.parent.resolve()

    @property
    def runtime_dir(self) -> Path:
        """``local.runtime_dir`` resolved against the repo root: fetched artifacts, service data, logs."""
        path = Path(self.settings.local.runtime_dir)
        return path if path.is_absolute() else self.repo_root / path


@dataclass
class _Layer:
    source: str
    data: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------
# Locating files


def find_config_dir(start: Path, environ: Mapping[str, str]) -> Path:
    """The config folder: ``DP_CONFIG_DIR`` if set, else the nearest ``config/`` with a ``base/`` above ``start``."""
    explicit = environ.get("DP_CONFIG_DIR")
    if explicit:
        path = Path(explicit)
        if not (path / "base").is_dir():
            raise ConfigError(f"DP_CONFIG_DIR={explicit} has no base/ folder")
        return path
    for folder in (start, *start.parents):
        candidate = folder / "config"
        if (candidate / "base").is_dir():
            return candidate
    raise ConfigError(f"no config/base folder found in {start} or its parents; set DP_CONFIG_DIR")


def find_repo_root(start: Path) -> Path:
    """The checkout that holds ``start`` (a file or folder in it): the folder of the nearest ``config/base`` above it.

    Unlike :func:`find_config_dir` it never reads ``DP_CONFIG_DIR``: tests and tools that ship with the checkout
    find their own repository with it, whatever configuration the environment points at."""
    return find_config_dir(start.resolve(), {}).parent


def available_environments(config_dir: Path) -> list[str]:
    """Names of the environments that have a file under ``config/environments``."""
    return sorted(p.stem for p in (config_dir / "environments").glob("*.yaml"))


# --------------------------------------------------------------------------------------------------------------
# YAML


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, source: str, problems: list[str]) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (strict safe loader)
    except OSError as exc:
        problems.append(f"{source}: cannot read: {exc.strerror}")
        return {}
    except UnicodeDecodeError as exc:
        problems.append(f"{source}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8")
        return {}
    except yaml.YAMLError as exc:
        problems.append(f"{source}: not valid YAML: {' '.join(str(exc).split())}")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{source}: expected a mapping of sections at the top, got {type(data).__name__}")
        return {}
    return data


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_yaml_keys(
    data: Mapping[Any, Any], model: type[BaseModel], path: tuple[str, ...], source: str, problems: list[str]
) -> None:
    """Reject unknown keys, non-mappings where a section is expected, and secrets, naming the layer."""
    for key, value in data.items():
        dotted = ".".join((*path, str(key)))
        if not path and key in _META_KEYS:
            problems.append(f"{dotted}: set by DP_ENV / --env, not in YAML ({source})")
            continue
        node = field_node(model, key) if isinstance(key, str) else None
        if node is None:
            known = sorted(k for k in model.model_fields if path or k not in _META_KEYS)
            problems.append(f"{dotted}: unknown key in {source}{_suggest(str(key), known)} (known: {', '.join(known)})")
            continue
        if node.kind == "model" and node.model is not None:
            if not isinstance(value, Mapping):
                problems.append(
                    f"{dotted}: expected {type_name(node.annotation)}, got {type(value).__name__} ({source})"
                )
                continue
            _check_yaml_keys(value, node.model, (*path, key), source, problems)
        elif node.secret and value is not None:
            problems.append(
                f"{dotted}: is a secret and is never read from YAML ({source}); set {env_name(dotted)} "
                f"or {env_name(dotted)}_FILE, or put it in a secret file named {dotted}"
            )


# --------------------------------------------------------------------------------------------------------------
# Environment variables and secret files


def env_name(dotted: str) -> str:
    """The ``DP_`` variable that sets a dotted key: ``iceberg.catalog.uri`` -> ``DP_ICEBERG_CATALOG__URI``."""
    section, *rest = dotted.split(".")
    return ENV_PREFIX + (section + ("_" + "__".join(rest) if rest else "")).upper()


def _sections() -> list[str]:
    return [k for k in PlatformSettings.model_fields if k not in _META_KEYS]


def _resolve_variable(name: str) -> tuple[tuple[str, ...], Node, bool]:
    """Map ``DP_KAFKA_BOOTSTRAP_SERVERS`` to (``('kafka', 'bootstrap_servers')``, node, is_secret_file)."""
    rest = name[len(ENV_PREFIX) :].lower()
    sections = sorted(_sections(), key=len, reverse=True)
    section = next((s for s in sections if rest.startswith(s + "_")), None)
    if section is None:
        guess = rest.split("_", 1)[0]
        raise _VariableProblem(
            f"{name}: unknown configuration section {guess!r}{_suggest(guess, sections)} "
            f"(known sections: {', '.join(sorted(sections))})"
        )
    parts = tuple(p for p in rest[len(section) + 1 :].split("__"))
    if not all(parts):
        raise _VariableProblem(f"{name}: empty key part (keys below the section are joined by '__')")
    path = (section, *parts)
    node = node_at(PlatformSettings, path)
    if node is None and parts[-1].endswith("_file"):
        file_path = (*path[:-1], parts[-1][: -len("_file")])
        file_node = node_at(PlatformSettings, file_path)
        if file_node is not None and file_node.secret:
            return file_path, file_node, True
    if node is None:
        parent = node_at(PlatformSettings, path[:-1])
        known = sorted(parent.model.model_fields) if parent is not None and parent.model is not None else []
        raise _VariableProblem(
            f"{name}: unknown key {'.'.join(path)!r}{_suggest(parts[-1], known)}"
            + (f" (known keys of {'.'.join(path[:-1])}: {', '.join(known)})" if known else "")
        )
    if node.kind == "model":
        raise _VariableProblem(f"{name}: {'.'.join(path)} is a section, not a key; set its keys as {name}__<KEY>")
    return path, node, False


class _VariableProblem(Exception):
    pass


def _env_value(name: str, raw: str, node: Node) -> Any:
    if node.optional and raw == "null":
        return None
    if node.structured:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _VariableProblem(
                f"{name}: expected {type_name(node.annotation)} as JSON, got {raw!r} ({exc.msg})"
            ) from exc
    return raw


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _read_secret(path: Path) -> str:
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def _env_layers(environ: Mapping[str, str], problems: list[str]) -> list[_Layer]:
    layers: list[_Layer] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_VARIABLES:
            continue
        try:
            path, node, from_file = _resolve_variable(name)
            if from_file:
                try:
                    value: Any = _read_secret(Path(environ[name]))
                except OSError as exc:
                    raise _VariableProblem(f"{name}: cannot read secret file {environ[name]}: {exc.strerror}") from exc
                source = f"secret file {environ[name]} (via {name})"
            else:
                value = _env_value(name, environ[name], node)
                source = f"env {name}"
        except _VariableProblem as exc:
            problems.append(str(exc))
            continue
        layer = _Layer(source)
        _set_path(layer.data, path, value)
        layers.append(layer)
    return layers


def _secret_file_layers(secrets_dir: Path, config_dir: Path, problems: list[str]) -> list[_Layer]:
    layers: list[_Layer] = []
    for file in sorted(p for p in secrets_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        if file.name.lower() == "readme.md":
            continue
        path = tuple(file.name.split("."))
        node = node_at(PlatformSettings, path)
        if node is None or not node.secret:
            problems.append(
                f"secret file {file}: {file.name!r} does not name a secret key (e.g. storage.access_key_id)"
            )
            continue
        try:
            value = _read_secret(file)
        except OSError as exc:
            problems.append(f"secret file {file}: cannot read: {exc.strerror}")
            continue
        layer = _Layer(f"secret file {_display(file, config_dir)}")
        _set_path(layer.data, path, value)
        layers.append(layer)
    return layers


# --------------------------------------------------------------------------------------------------------------
# Merge and validate


def _record_leaves(value: Any, path: str, source: str, sources: dict[str, str]) -> None:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            _record_leaves(sub, f"{path}.{key}", source, sources)
    else:
        sources[path] = source


def _merge(
    target: dict[str, Any], layer: Mapping[str, Any], source: str, sources: dict[str, str], path: str = ""
) -> None:
    for key, value in layer.items():
        dotted = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value, source, sources, dotted)
            continue
        for stale in [k for k in sources if k == dotted or k.startswith(dotted + ".")]:
            del sources[stale]
        target[key] = copy.deepcopy(value)
        _record_leaves(value, dotted, source, sources)


def _source_of(dotted: str, sources: Mapping[str, str]) -> str:
    probe = dotted
    while probe:
        if probe in sources:
            return sources[probe]
        probe = probe.rpartition(".")[0]
    return DEFAULT_SOURCE


def _validation_problems(exc: ValidationError, sources: Mapping[str, str]) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(p) for p in error["loc"])
        dotted = ".".join(loc)
        node = node_at(PlatformSettings, loc)
        expected = type_name(node.annotation) if node is not None else "a valid value"
        source = _source_of(dotted, sources)
        if error["type"] == "missing":
            problems.append(f"{dotted}: required, but no layer sets it (expected {expected})")
            continue
        shown = "<redacted>" if node is not None and node.secret else repr(error.get("input"))
        problems.append(f"{dotted}: {error['msg']}; expected {expected}, got {shown} (from {source})")
    return problems


def _leaf_paths(value: Any, path: str = "") -> Iterable[str]:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            yield from _leaf_paths(sub, f"{path}.{key}" if path else str(key))
    elif path:
        yield path


def load_settings(
    config_dir: Path,
    environ: Mapping[str, str],
    env: str | None = None,
) -> LoadedConfig:
    """Build the effective settings of one environment.

    Args:
        config_dir: the folder holding ``base/`` and ``environments/``.
        environ: the process environment (``os.environ`` at the entry point; a dict in tests).
        env: the environment to load; defaults to ``DP_ENV``, then ``local``.

    Raises:
        ConfigError: listing every problem found, each with its dotted key, layer and expected type.
    """
    chosen = env or environ.get("DP_ENV") or DEFAULT_ENV
    env_source = "--env" if env else ("env DP_ENV" if environ.get("DP_ENV") else DEFAULT_SOURCE)
    known_envs = available_environments(config_dir)
    if chosen not in known_envs:
        raise ConfigError(
            f"unknown environment {chosen!r} (from {env_source}){_suggest(chosen, known_envs)}; "
            f"available: {', '.join(known_envs) or 'none'} (files in {config_dir / 'environments'})"
        )

    problems: list[str] = []
    layers: list[_Layer] = []
    for path in sorted((config_dir / "base").glob("*.yaml")):
        layers.append(_Layer(_display(path, config_dir), _read_yaml(path, _display(path, config_dir), problems)))
    env_file = config_dir / "environments" / f"{chosen}.yaml"
    layers.append(
        _Layer(_display(env_file, config_dir), _read_yaml(env_file, _display(env_file, config_dir), problems))
    )
    for layer in layers:
        _check_yaml_keys(layer.data, PlatformSettings, (), layer.source, problems)

    secrets_dir = Path(environ["DP_SECRETS_DIR"]) if environ.get("DP_SECRETS_DIR") else config_dir / "secrets" / chosen
    if environ.get("DP_SECRETS_DIR") and not secrets_dir.is_dir():
        problems.append(f"DP_SECRETS_DIR={secrets_dir} is not a folder")
    elif secrets_dir.is_dir():
        layers.extend(_secret_file_layers(secrets_dir, config_dir, problems))
    layers.extend(_env_layers(environ, problems))

    if problems:
        raise ConfigError(problems)

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        _merge(merged, layer.data, layer.source, sources)
    merged["env"] = chosen
    sources["env"] = env_source
    try:
        settings = PlatformSettings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_validation_problems(exc, sources)) from None

    dumped = settings.model_dump(mode="python")
    full_sources = {path: _source_of(path, sources) for path in _leaf_paths(dumped)}
    return LoadedConfig(settings=settings, sources=full_sources, config_dir=config_dir)


def _display(path: Path, config_dir: Path) -> str:
    """A path as users see it in messages: relative to the repo root when possible."""
    try:
        return str(path.relative_to(config_dir.parent))
    except ValueError:
        return str(path)
