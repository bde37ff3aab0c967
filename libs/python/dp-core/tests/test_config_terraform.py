"""The config keys Terraform provisions: the committed prod profile agrees with the sample outputs, and a change to
either side is caught (`dp config from-terraform --check`) or written (`--write`) without losing comments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dp_core.config import find_repo_root, load_settings
from dp_core.config import terraform as tf
from dp_localstack.testing import DP, clean_environ, run_command

REPO = find_repo_root(Path(__file__))
PROD_OUTPUTS = REPO / "infra" / "terraform" / "envs" / "prod" / "outputs.example.json"


def outputs(**changed: Any) -> dict[str, Any]:
    """The committed prod outputs (``terraform output -json``) with some values changed."""
    raw: dict[str, Any] = json.loads(PROD_OUTPUTS.read_text(encoding="utf-8"))
    for name, value in changed.items():
        raw[name] = {**raw[name], "value": value}
    return raw


def dump(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def from_terraform(*args: str, env: dict[str, str] | None = None) -> Any:
    return run_command([DP, "config", "from-terraform", *args], REPO, clean_environ() | (env or {}), timeout=60)


def prod_disagreements(raw: dict[str, Any], config_dir: Path = REPO / "config") -> list[tf.Disagreement]:
    expected = tf.expected_values(tf.parse_outputs(json.dumps(raw), "outputs"))
    return tf.disagreements(expected, load_settings(config_dir, {}, env="prod").settings)


def test_prod_config_agrees_with_the_terraform_outputs() -> None:
    assert prod_disagreements(outputs()) == []


def test_prod_uses_the_glue_rest_endpoint_with_sigv4() -> None:
    catalog = load_settings(REPO / "config", {}, env="prod").settings.iceberg.catalog
    assert (catalog.type, catalog.uri) == ("rest", "https://glue.eu-west-1.amazonaws.com/iceberg")
    assert catalog.properties == {
        "rest.sigv4-enabled": "true",
        "rest.signing-name": "glue",
        "rest.signing-region": "eu-west-1",
    }


@pytest.mark.parametrize(
    ("output", "value", "key"),
    [
        ("kafka_bootstrap_brokers_sasl_scram", "b-1.other:9096", "kafka.bootstrap_servers"),
        ("postgres_port", 5433, "postgres.port"),
        ("iceberg_catalog_properties", {"rest.signing-region": "us-east-1"}, "iceberg.catalog.properties.rest."),
        ("iceberg_namespaces", {"bronze": "raw", "silver": "silver", "gold": "gold"}, "iceberg.namespaces.bronze"),
    ],
)
def test_a_changed_output_is_a_disagreement(output: str, value: Any, key: str) -> None:
    found = prod_disagreements(outputs(**{output: value}))
    assert found and all(d.expected.dotted.startswith(key) and d.expected.output == output for d in found)


def test_check_fails_listing_every_disagreement(tmp_path: Path) -> None:
    changed = dump(tmp_path, outputs(region="eu-central-1", postgres_host="db.other", lakehouse_bucket="other"))
    result = from_terraform(str(changed), "--env", "prod", "--check")
    assert result.returncode == 2, result.stdout
    for key in ("storage.region", "postgres.host", "storage.warehouse_bucket"):
        assert f"{key}: config has" in result.stderr
    assert "3 problems" in result.stderr


def test_check_passes_and_prints_the_endpoints() -> None:
    result = from_terraform(str(PROD_OUTPUTS), "--env", "prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"prod: {len(tf.expected_values(tf.parse_outputs(PROD_OUTPUTS.read_text(), 'x')))}")
    assert "collector_url: https://collector.prod.dtheinfra.internal" in result.stdout


def test_prod_validates_with_its_secrets_absent() -> None:
    result = run_command([DP, "config", "validate"], REPO, clean_environ() | {"DP_ENV": "prod"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "prod: ok" in result.stdout


def test_write_sets_the_disagreeing_keys_and_keeps_comments(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config" / "base", config_dir / "base")
    prod = config_dir / "environments" / "prod.yaml"
    prod.parent.mkdir()
    prod.write_text("# prod, by hand\nkafka:\n  client_id: x  # kept\niceberg:\n  catalog:\n    properties: {}\n")
    raw = outputs()
    result = from_terraform(
        str(dump(tmp_path, raw)), "--env", "prod", "--write", env={"DP_CONFIG_DIR": str(config_dir)}
    )
    assert result.returncode == 0, result.stderr
    text = prod.read_text()
    assert text.startswith("# prod, by hand\nkafka:\n  client_id: x  # kept\n")
    assert prod_disagreements(raw, config_dir) == []
    again = from_terraform(str(dump(tmp_path, raw)), "--env", "prod", env={"DP_CONFIG_DIR": str(config_dir)})
    assert again.returncode == 0, again.stderr


def test_set_yaml_keys_edits_lines_in_place() -> None:
    text = (
        "# head\n"
        "kafka:\n"
        '  bootstrap_servers: "old:9096"  # from terraform\n'
        "  topics:\n"
        "    partitions: 3\n"
        "\n"
        "iceberg:\n"
        "  catalog:\n"
        "    properties: {}\n"
        "logging:\n"
        "  format: json\n"
    )
    values = [
        tf.Expected(("kafka", "bootstrap_servers"), "new:9096", "o"),
        tf.Expected(("kafka", "topics", "replication_factor"), 3, "o"),
        tf.Expected(("iceberg", "catalog", "properties", "rest.sigv4-enabled"), "true", "o"),
        tf.Expected(("postgres", "host"), "db.example", "o"),
    ]
    assert tf.set_yaml_keys(text, values) == (
        "# head\n"
        "kafka:\n"
        '  bootstrap_servers: "new:9096"  # from terraform\n'
        "  topics:\n"
        "    partitions: 3\n"
        "    replication_factor: 3\n"
        "\n"
        "iceberg:\n"
        "  catalog:\n"
        "    properties:\n"
        '      rest.sigv4-enabled: "true"\n'
        "logging:\n"
        "  format: json\n"
        "postgres:\n"
        '  host: "db.example"\n'
    )


def test_set_yaml_keys_refuses_a_flow_mapping_it_would_break() -> None:
    text = 'iceberg:\n  catalog:\n    properties: {"a": "b"}\n'
    with pytest.raises(tf.TerraformOutputsError, match="inline value"):
        tf.set_yaml_keys(text, [tf.Expected(("iceberg", "catalog", "properties", "x"), "y", "o")])


def test_quoted_keys_are_found_and_odd_keys_quoted() -> None:
    text = 'a:\n  "b.c": 1\n'
    edited = tf.set_yaml_keys(text, [tf.Expected(("a", "b.c"), 2, "o"), tf.Expected(("a", "d e"), "f", "o")])
    assert yaml.safe_load(edited) == {"a": {"b.c": 2, "d e": "f"}}
    assert '"d e": "f"' in edited


def test_a_string_is_not_a_boolean() -> None:
    settings = load_settings(REPO / "config", {}, env="prod").settings
    found = tf.disagreements([tf.Expected(("storage", "path_style_access"), "false", "o")], settings)
    assert len(found) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"region": {"type": "string"}}', "without a value: region"),
    ],
)
def test_unreadable_outputs_are_named(text: str, message: str) -> None:
    with pytest.raises(tf.TerraformOutputsError, match=message):
        tf.parse_outputs(text, "out.json")


def test_every_missing_output_is_named() -> None:
    with pytest.raises(tf.TerraformOutputsError, match=r"missing output.*region.*postgres_user"):
        tf.expected_values({}, "out.json")
