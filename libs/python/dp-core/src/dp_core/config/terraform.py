"""The config keys Terraform provisions: which output sets which key, the check and the YAML update (pure).

``terraform output -json`` of an environment (``infra/terraform/envs/<env>``) names what was created: the MSK
brokers, the lakehouse bucket, the Glue Iceberg REST endpoint and its SigV4 properties, the registry URL, the RDS
host, ... :data:`OUTPUT_KEYS` maps each output onto the config key that must hold it. ``dp config from-terraform``
reads the outputs with :func:`parse_outputs`, turns them into :func:`expected_values`, compares them with the
environment's effective settings (:func:`disagreements`) and, with ``--write``, sets the keys that disagree in
``config/environments/<env>.yaml`` with :func:`set_yaml_keys`, a line-based edit that keeps comments and layout.

A map output (``iceberg_catalog_properties``, ``iceberg_namespaces``) sets one key per entry under its path, so
properties the config adds beyond Terraform's stay untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from dp_core.config.models import PlatformSettings
from dp_core.errors import ConfigError

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class OutputKey:
    """One Terraform output and the config key (path) it sets."""

    output: str
    path: KeyPath


#: Every output the config takes, in the order the keys are reported and written.
OUTPUT_KEYS: tuple[OutputKey, ...] = (
    OutputKey("region", ("storage", "region")),
    OutputKey("lakehouse_bucket", ("storage", "warehouse_bucket")),
    OutputKey("kafka_bootstrap_brokers_sasl_scram", ("kafka", "bootstrap_servers")),
    OutputKey("kafka_scram_username", ("kafka", "sasl_username")),
    OutputKey("kafka_topic_partitions", ("kafka", "topics", "partitions")),
    OutputKey("kafka_topic_replication_factor", ("kafka", "topics", "replication_factor")),
    OutputKey("iceberg_catalog_type", ("iceberg", "catalog", "type")),
    OutputKey("iceberg_rest_uri", ("iceberg", "catalog", "uri")),
    OutputKey("iceberg_warehouse", ("iceberg", "catalog", "warehouse")),
    OutputKey("iceberg_catalog_properties", ("iceberg", "catalog", "properties")),
    OutputKey("iceberg_namespaces", ("iceberg", "namespaces")),
    OutputKey("registry_url", ("registry", "url")),
    OutputKey("registry_basic_auth_user", ("registry", "basic_auth_user")),
    OutputKey("postgres_host", ("postgres", "host")),
    OutputKey("postgres_port", ("postgres", "port")),
    OutputKey("postgres_user", ("postgres", "user")),
    OutputKey("stream_checkpoint_dir", ("stream", "checkpoint_dir")),
)

#: Outputs no config key holds, printed for the smoke test (each answers GET /healthz or its console).
ENDPOINT_OUTPUTS: tuple[str, ...] = ("collector_url", "api_url", "console_url", "airflow_webserver_url")

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_KEY_LINE = re.compile(
    r"""^(?P<indent> *)(?P<key>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#][^:#]*?)\s*:(?=\s|$)(?P<rest>.*)$"""
)


class TerraformOutputsError(ConfigError):
    """The Terraform outputs file cannot be read, or lacks outputs the config takes."""


class TerraformMismatchError(ConfigError):
    """Config keys of an environment disagree with the Terraform outputs (one problem per key)."""


@dataclass(frozen=True)
class Expected:
    """The value Terraform says a config key must hold, and the output it came from."""

    path: KeyPath
    value: Any
    output: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Disagreement:
    """A config key whose effective value is not the Terraform output's."""

    expected: Expected
    actual: Any

    def __str__(self) -> str:
        e = self.expected
        return f"{e.dotted}: config has {json.dumps(self.actual)}, Terraform output {e.output} is {json.dumps(e.value)}"


def parse_outputs(text: str, source: str) -> dict[str, Any]:
    """``{name: value}`` from the text of ``terraform output -json`` (each output ``{"value": ..., ...}``)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerraformOutputsError(
            f"{source}: not JSON ({exc}); give the output of `terraform output -json`"
        ) from None
    if not isinstance(raw, dict):
        raise TerraformOutputsError(f"{source}: expected a JSON object of outputs, got {type(raw).__name__}")
    bad = sorted(name for name, out in raw.items() if not (isinstance(out, dict) and "value" in out))
    if bad:
        raise TerraformOutputsError(f"{source}: output(s) without a value: {', '.join(bad)}")
    return {name: out["value"] for name, out in raw.items()}


def expected_values(outputs: Mapping[str, Any], source: str = "outputs") -> list[Expected]:
    """What every config key of :data:`OUTPUT_KEYS` must hold; every missing output is named in one error."""
    missing = [k.output for k in OUTPUT_KEYS if k.output not in outputs]
    if missing:
        raise TerraformOutputsError(f"{source}: missing output(s): {', '.join(missing)}")
    expected: list[Expected] = []
    for key in OUTPUT_KEYS:
        value = outputs[key.output]
        if isinstance(value, dict):
            expected.extend(Expected((*key.path, str(k)), v, key.output) for k, v in sorted(value.items()))
        else:
            expected.append(Expected(key.path, value, key.output))
    return expected


def endpoints(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The service URLs among the outputs that no config key holds (for the smoke test)."""
    return {name: str(outputs[name]) for name in ENDPOINT_OUTPUTS if name in outputs}


def _lookup(tree: Any, path: KeyPath) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def disagreements(expected: Iterable[Expected], settings: PlatformSettings) -> list[Disagreement]:
    """Every expected value the settings do not hold (numbers compare by value, everything else exactly)."""
    tree = settings.model_dump(mode="json")
    found: list[Disagreement] = []
    for item in expected:
        actual = _lookup(tree, item.path)
        if actual != item.value or isinstance(actual, bool) != isinstance(item.value, bool):
            found.append(Disagreement(item, actual))
    return found


# --- the line-based YAML update ---


def _render_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value))


def _render_key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _parse_key(raw: str) -> str:
    if raw.startswith('"'):
        parsed: str = json.loads(raw)
        return parsed
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    return raw.strip()


def _comment_of(rest: str) -> str:
    """The trailing comment (with its leading spaces) of a scalar line's value part, or ''."""
    text = rest.strip()
    if text[:1] in {'"', "'"}:
        quote, i = text[0], 1
        while i < len(text) and text[i] != quote:
            i += 2 if text[i] == "\\" and quote == '"' else 1
        tail = text[i + 1 :]
    else:
        tail = text
    at = tail.find(" #") if not tail.startswith("#") else 0
    return "  " + tail[at:].strip() if at >= 0 and tail[at:].strip().startswith("#") else ""


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, parent_indent: int) -> int:
    """Index after the last line of the block that begins at ``start`` (children of a key at ``parent_indent``)."""
    end = start
    for i in range(start, len(lines)):
        if _is_content(lines[i]):
            if _indent(lines[i]) <= parent_indent:
                break
            end = i + 1
    return end


def _set_path(lines: list[str], path: KeyPath, value: Any) -> None:
    start, end, parent_indent = 0, len(lines), -1
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        child_indent = next((_indent(lines[i]) for i in range(start, end) if _is_content(lines[i])), parent_indent + 2)
        child_indent = max(child_indent, 0)
        found = None
        for i in range(start, end):
            match = _KEY_LINE.match(lines[i])
            if match and len(match["indent"]) == child_indent and _parse_key(match["key"]) == part:
                found = (i, match)
                break
        if found is None:
            pad = " " * child_indent
            new = [f"{pad}{'  ' * n}{_render_key(p)}:" for n, p in enumerate(path[depth:-1])]
            new.append(f"{pad}{'  ' * (len(path) - depth - 1)}{_render_key(path[-1])}: {_render_scalar(value)}")
            lines[end:end] = new
            return
        i, match = found
        head = f"{match['indent']}{match['key']}:"
        if last:
            lines[i] = f"{head} {_render_scalar(value)}{_comment_of(match['rest'])}"
            return
        inline = match["rest"].split(" #")[0].strip()
        if inline in {"{}", "null", "~"}:
            lines[i] = head + _comment_of(match["rest"])  # an empty inline value becomes a block
        elif inline and not inline.startswith("#"):
            raise TerraformOutputsError(f"{'.'.join(path[: depth + 1])} is an inline value; write it as a block")
        start, parent_indent = i + 1, child_indent
        end = _block_end(lines, start, parent_indent)


def set_yaml_keys(text: str, values: Iterable[Expected]) -> str:
    """``text`` (a config YAML file) with every value set at its path; comments, order and other keys kept.

    Raises:
        TerraformOutputsError: when the edited file would not read back with the values (a layout this simple
            editor does not understand, e.g. flow mappings holding the key); the file is then left alone.
    """
    lines = text.splitlines()
    items = list(values)
    for item in items:
        _set_path(lines, item.path, item.value)
    result = "\n".join(lines) + "\n"
    tree = yaml.safe_load(result) or {}
    wrong = [item.dotted for item in items if _lookup(tree, item.path) != item.value]
    if wrong:
        raise TerraformOutputsError(f"could not set {', '.join(wrong)} by editing the YAML lines; set them by hand")
    return result
