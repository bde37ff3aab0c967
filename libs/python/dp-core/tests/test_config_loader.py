from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from dp_core.config import env_name, load_settings
from dp_core.errors import ConfigError

Writer = Callable[[Path, str], Path]


def problems_of(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(exc.value.problems)


# -- precedence of every layer -----------------------------------------------------------------------------------


def test_defaults_apply_when_no_layer_sets_a_key(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {})
    assert loaded.settings.registry.url == "http://127.0.0.1:8081"
    assert loaded.sources["registry.url"] == "default"


def test_base_file_overrides_default(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {})
    assert loaded.settings.kafka.bootstrap_servers == "base:9092"
    assert loaded.sources["kafka.bootstrap_servers"] == "config/base/kafka.yaml"


def test_environment_file_overrides_base(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {})
    assert loaded.env == "local"
    assert loaded.settings.kafka.client_id == "local-client"
    assert loaded.sources["kafka.client_id"] == "config/environments/local.yaml"


def test_dp_env_selects_the_environment_file(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_ENV": "prod"})
    assert loaded.env == "prod"
    assert loaded.settings.kafka.bootstrap_servers == "prod:9096"
    assert loaded.sources["env"] == "env DP_ENV"


def test_explicit_env_argument_beats_dp_env(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_ENV": "local"}, env="prod")
    assert loaded.env == "prod"
    assert loaded.sources["env"] == "--env"


def test_environment_variable_overrides_every_file(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_ENV": "prod", "DP_KAFKA_BOOTSTRAP_SERVERS": "kafka.dev:9092"})
    assert loaded.settings.kafka.bootstrap_servers == "kafka.dev:9092"
    assert loaded.sources["kafka.bootstrap_servers"] == "env DP_KAFKA_BOOTSTRAP_SERVERS"


def test_double_underscore_reaches_nested_keys(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_ICEBERG_CATALOG__URI": "http://catalog:8181"})
    assert loaded.settings.iceberg.catalog.uri == "http://catalog:8181"
    assert loaded.sources["iceberg.catalog.uri"] == "env DP_ICEBERG_CATALOG__URI"


def test_env_values_are_coerced_to_the_field_type(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_KAFKA_TOPICS__PARTITIONS": "12", "DP_STORAGE_PATH_STYLE_ACCESS": "false"})
    assert loaded.settings.kafka.topics.partitions == 12
    assert loaded.settings.storage.path_style_access is False


def test_null_clears_an_optional_key(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_STORAGE_ENDPOINT_URL": "null"})
    assert loaded.settings.storage.endpoint_url is None


def test_mapping_keys_from_json_and_single_entries(config_dir: Path) -> None:
    loaded = load_settings(
        config_dir,
        {"DP_LOGGING_LOGGERS__KAFKA": "ERROR", "DP_ICEBERG_CATALOG__PROPERTIES": '{"a": "1"}'},
    )
    assert loaded.settings.logging.loggers == {"py4j": "WARNING", "kafka": "ERROR"}
    assert loaded.settings.iceberg.catalog.properties == {"a": "1"}


def test_env_name_round_trips() -> None:
    assert env_name("kafka.bootstrap_servers") == "DP_KAFKA_BOOTSTRAP_SERVERS"
    assert env_name("iceberg.catalog.uri") == "DP_ICEBERG_CATALOG__URI"


# -- deep merge ----------------------------------------------------------------------------------------------------


def test_mappings_deep_merge_across_layers(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {}, env="prod")
    # linger.ms replaced by prod, compression.type kept from base
    assert loaded.settings.kafka.producer == {"linger.ms": 50, "compression.type": "zstd"}
    assert loaded.sources["kafka.producer.linger.ms"] == "config/environments/prod.yaml"
    assert loaded.sources["kafka.producer.compression.type"] == "config/base/kafka.yaml"
    assert loaded.settings.logging.loggers == {"py4j": "WARNING", "kafka": "ERROR"}


def test_scalars_replace_and_siblings_survive(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {}, env="prod")
    assert loaded.settings.logging.format == "json"
    assert loaded.settings.logging.level == "INFO"  # from base, untouched by prod


def test_lists_and_mapping_values_replace_not_append(config_dir: Path, write: Writer) -> None:
    write(config_dir / "environments" / "local.yaml", "iceberg:\n  catalog:\n    properties: {x: '1'}\n")
    loaded = load_settings(config_dir, {"DP_ICEBERG_CATALOG__PROPERTIES": '{"y": "2"}'})
    # a JSON value of a mapping key merges into the mapping like any layer
    assert loaded.settings.iceberg.catalog.properties == {"x": "1", "y": "2"}


# -- errors --------------------------------------------------------------------------------------------------------


#: a broken configuration -> what the ConfigError says: files written (path under config/ -> text), DP_ variables,
#: and the parts its message must have
PROBLEMS: dict[str, tuple[dict[str, str], dict[str, str], list[str]]] = {
    "unknown_yaml_key_names_path_and_file": (
        {"base/kafka.yaml": "kafka:\n  bootstrap_server: x:1\n"},
        {},
        ["kafka.bootstrap_server: unknown key in config/base/kafka.yaml", "did you mean 'bootstrap_servers'"],
    ),
    "unknown_yaml_section": (
        {"environments/local.yaml": "kafak:\n  bootstrap_servers: x\n"},
        {},
        ["kafak: unknown key in config/environments/local.yaml; did you mean 'kafka'"],
    ),
    "unknown_dp_section": (
        {},
        {"DP_KAFAK_BOOTSTRAP_SERVERS": "x"},
        ["DP_KAFAK_BOOTSTRAP_SERVERS: unknown configuration section 'kafak'", "did you mean 'kafka'"],
    ),
    "unknown_dp_key_in_known_section": (
        {},
        {"DP_KAFKA_BOOTSTRAP_SERVER": "x"},
        ["DP_KAFKA_BOOTSTRAP_SERVER: unknown key 'kafka.bootstrap_server'", "did you mean 'bootstrap_servers'"],
    ),
    "dp_variable_naming_a_section_is_rejected": (
        {},
        {"DP_ICEBERG_CATALOG": "x"},
        ["iceberg.catalog is a section, not a key"],
    ),
    "wrong_type_in_yaml_names_path_layer_and_expected_type": (
        {"environments/local.yaml": "kafka:\n  topics:\n    partitions: many\n"},
        {},
        ["kafka.topics.partitions:", "expected int", "got 'many'", "(from config/environments/local.yaml)"],
    ),
    "wrong_type_from_env_names_the_variable": (
        {},
        {"DP_LOGGING_FORMAT": "xml"},
        ["logging.format:", "expected one of 'text', 'json'", "(from env DP_LOGGING_FORMAT)"],
    ),
    "section_given_a_scalar": (
        {"environments/local.yaml": "kafka: localhost\n"},
        {},
        ["kafka: expected mapping (section KafkaSettings), got str (config/environments/local.yaml)"],
    ),
    "invalid_json_for_structured_env_value": (
        {},
        {"DP_KAFKA_PRODUCER": "{not json"},
        ["DP_KAFKA_PRODUCER: expected mapping of str to"],
    ),
    "invalid_yaml_and_duplicate_keys": (
        {"base/kafka.yaml": "kafka:\n  client_id: a\n  client_id: b\n", "base/logging.yaml": "logging: [unclosed\n"},
        {},
        [
            "config/base/kafka.yaml: not valid YAML: ",
            "duplicate key 'client_id'",
            "config/base/logging.yaml: not valid YAML",
        ],
    ),
    "top_level_must_be_a_mapping": (
        {"base/kafka.yaml": "- a\n- b\n"},
        {},
        ["expected a mapping of sections at the top, got list"],
    ),
    "unknown_environment": (
        {},
        {"DP_ENV": "prd"},
        ["unknown environment 'prd' (from env DP_ENV); did you mean 'prod'?", "available: local, prod"],
    ),
    "env_key_cannot_be_set_in_yaml": (
        {"environments/local.yaml": "env: prod\n"},
        {},
        ["env: set by DP_ENV / --env, not in YAML"],
    ),
    "secret_file_with_unknown_name": (
        {"secrets/local/storage.region": "eu-west-1"},
        {},
        ["'storage.region' does not name a secret key"],
    ),
}


@pytest.mark.parametrize(("files", "environ", "expected"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_broken_configuration_names_what_is_wrong_and_where(
    config_dir: Path, write: Writer, files: dict[str, str], environ: dict[str, str], expected: list[str]
) -> None:
    for name, text in files.items():
        write(config_dir / name, text)
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, environ)
    text = problems_of(exc)
    assert [part for part in expected if part not in text] == [], text


def test_reserved_variables_are_not_keys(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_ENV": "local", "DP_CONFIG_DIR": str(config_dir)})
    assert loaded.env == "local"


def test_all_problems_are_reported_together(config_dir: Path, write: Writer) -> None:
    write(config_dir / "base" / "kafka.yaml", "kafka:\n  nope: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, {"DP_KAFAK_X": "1", "DP_LOGGING_NOPE": "1"})
    assert len(exc.value.problems) == 3


def test_a_yaml_file_that_is_not_utf8_is_named(config_dir: Path) -> None:
    (config_dir / "base" / "kafka.yaml").write_bytes("kafka:\n  client_id: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, {})
    assert "config/base/kafka.yaml: not UTF-8 text (byte 23: invalid continuation byte)" in problems_of(exc)


def test_contract_time_bounds_need_an_offset(config_dir: Path, write: Writer) -> None:
    write(config_dir / "base" / "contracts.yaml", "contracts:\n  oldest_event_time: '2001-01-01T00:00:00'\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, {})
    assert "give a UTC offset" in problems_of(exc)
    write(config_dir / "base" / "contracts.yaml", "contracts:\n  oldest_event_time: '2001-01-01T01:00:00+01:00'\n")
    settings = load_settings(config_dir, {}).settings
    assert settings.contracts.oldest_event_time == dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


# -- secrets -------------------------------------------------------------------------------------------------------


def test_secret_in_yaml_is_refused(config_dir: Path, write: Writer) -> None:
    write(config_dir / "environments" / "local.yaml", "storage:\n  secret_access_key: hunter2\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, {})
    text = problems_of(exc)
    assert "storage.secret_access_key: is a secret and is never read from YAML" in text
    assert "DP_STORAGE_SECRET_ACCESS_KEY" in text
    assert "hunter2" not in text


def test_secret_from_environment(config_dir: Path) -> None:
    loaded = load_settings(config_dir, {"DP_STORAGE_SECRET_ACCESS_KEY": "s3cr3t"})
    secret = loaded.settings.storage.secret_access_key
    assert secret is not None and secret.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(loaded.settings)


def test_secret_from_file_variable(config_dir: Path, tmp_path: Path, write: Writer) -> None:
    secret_file = write(tmp_path / "kafka-password", "pa55\n")
    loaded = load_settings(config_dir, {"DP_KAFKA_SASL_PASSWORD_FILE": str(secret_file)})
    password = loaded.settings.kafka.sasl_password
    assert password is not None and password.get_secret_value() == "pa55"
    assert loaded.sources["kafka.sasl_password"].startswith("secret file ")


def test_missing_secret_file_is_an_error(config_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(config_dir, {"DP_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")})
    assert "DP_KAFKA_SASL_PASSWORD_FILE: cannot read secret file" in problems_of(exc)


def test_secrets_dir_per_environment_and_env_wins(config_dir: Path, write: Writer) -> None:
    write(config_dir / "secrets" / "local" / "storage.access_key_id", "from-file\n")
    write(config_dir / "secrets" / "local" / "storage.secret_access_key", "file-secret")
    loaded = load_settings(config_dir, {"DP_STORAGE_SECRET_ACCESS_KEY": "env-secret"})
    storage = loaded.settings.storage
    assert storage.access_key_id is not None and storage.access_key_id.get_secret_value() == "from-file"
    assert storage.secret_access_key is not None and storage.secret_access_key.get_secret_value() == "env-secret"
    assert loaded.sources["storage.access_key_id"] == "secret file config/secrets/local/storage.access_key_id"
    # other environments do not see local's secrets
    assert load_settings(config_dir, {}, env="prod").settings.storage.access_key_id is None
