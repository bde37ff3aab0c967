"""The one mapping of the settings onto catalog and object-store properties, in every client's form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dp_core.config import PlatformSettings, load_settings
from dp_core.config.render import REDACTED
from dp_lakehouse import properties as lake
from dp_lakehouse.errors import UnsupportedCatalogError

REPO = Path(__file__).resolve().parents[4]
SPARK = "spark.sql.catalog.lake"
TOKEN, CREDENTIAL = "tok-3f9a", "client-7:shh-9c1"
Form = Callable[[PlatformSettings], lake.Properties]
#: every engine form, and the key it gives a neutral property under (Spark: prefixed)
FORMS: dict[str, tuple[Form, Callable[[str], str]]] = {
    "neutral": (lake.iceberg_properties, lambda key: key),
    "pyiceberg": (lake.pyiceberg_properties, lambda key: {"client.region": "s3.region"}.get(key, key)),
    "spark": (lake.spark_catalog_conf, lambda key: f"{SPARK}.{key}"),
    "flink": (lake.flink_catalog_properties, lambda key: key),
}


def load(env: str = "local", **variables: str) -> PlatformSettings:
    """The repo's configuration of ``env`` with the given DP_ variables only."""
    return load_settings(REPO / "config", variables, env=env).settings


def secured() -> PlatformSettings:
    """The local stack's settings (static S3 keys) with a catalog token and OAuth2 credential."""
    return load(DP_ICEBERG_CATALOG__TOKEN=TOKEN, DP_ICEBERG_CATALOG__CREDENTIAL=CREDENTIAL)


def test_neutral_form_of_the_local_stack_in_iceberg_names() -> None:
    assert list(lake.iceberg_properties(load()).items()) == [
        ("type", "rest"),
        ("warehouse", "s3://warehouse/"),
        ("uri", "http://127.0.0.1:8181"),
        ("io-impl", lake.S3_FILE_IO),
        ("client.region", "us-east-1"),
        ("s3.path-style-access", "true"),
        ("s3.endpoint", "http://127.0.0.1:9000"),
        ("s3.access-key-id", "minioadmin"),
        ("s3.secret-access-key", "minioadmin"),
    ]


def test_on_aws_there_is_no_endpoint_and_no_static_key() -> None:
    props = lake.iceberg_properties(load("prod"))
    assert props["uri"] == "https://glue.eu-west-1.amazonaws.com/iceberg"
    assert (props["client.region"], props["s3.path-style-access"]) == ("eu-west-1", "false")
    assert not {"s3.endpoint", "s3.access-key-id", "s3.secret-access-key", "token", "credential"} & set(props)


def test_catalog_types_in_java_names_and_uri_only_where_the_type_has_one() -> None:
    sql, glue = load(DP_ICEBERG_CATALOG__TYPE="sql"), load(DP_ICEBERG_CATALOG__TYPE="glue")
    assert lake.iceberg_properties(sql)["type"] == "jdbc" and lake.pyiceberg_properties(sql)["type"] == "sql"
    assert lake.spark_catalog_conf(sql)[f"{SPARK}.type"] == lake.flink_catalog_properties(sql)["catalog-type"] == "jdbc"
    assert "uri" in lake.iceberg_properties(sql)
    assert "uri" not in lake.iceberg_properties(glue) and "uri" not in lake.pyiceberg_properties(glue)


def test_pyiceberg_form_uses_pyiceberg_names() -> None:
    assert lake.pyiceberg_properties(load()) == {
        "type": "rest",
        "uri": "http://127.0.0.1:8181",
        "warehouse": "s3://warehouse/",
        "s3.region": "us-east-1",
        "s3.path-style-access": "true",
        "s3.endpoint": "http://127.0.0.1:9000",
        "s3.access-key-id": "minioadmin",
        "s3.secret-access-key": "minioadmin",
    }


@pytest.mark.parametrize("env", ["local", "prod"])
def test_spark_and_flink_forms_carry_the_neutral_form(env: str) -> None:
    settings = load(env)
    neutral = lake.iceberg_properties(settings)
    spark = lake.spark_catalog_conf(settings)
    assert next(iter(spark.items())) == (SPARK, lake.SPARK_CATALOG)
    assert {key.removeprefix(f"{SPARK}."): value for key, value in list(spark.items())[1:]} == neutral
    flink = list(lake.flink_catalog_properties(settings).items())
    assert flink[:2] == [("type", "iceberg"), ("catalog-type", neutral["type"])]
    assert flink[2:] == [item for item in neutral.items() if item[0] != "type"]


@pytest.mark.parametrize("form", FORMS)
def test_token_and_credential_reach_every_form(form: str) -> None:
    build, key = FORMS[form]
    props = build(secured())
    assert (props[key("token")], props[key("credential")]) == (TOKEN, CREDENTIAL)
    assert key("token") not in build(load()) and key("credential") not in build(load())


@pytest.mark.parametrize("form", FORMS)
def test_explicit_config_properties_win_in_every_form(form: str) -> None:
    """Config replaces a derived property of the same key (in place) and adds new ones last, in every form."""
    build, key = FORMS[form]
    config = {"client.region": "eu-central-1", "s3.endpoint": "https://s3.example:9443", "write.format.default": "orc"}
    props = build(load(DP_ICEBERG_CATALOG__PROPERTIES=json.dumps(config)))
    assert {key(k): props[key(k)] for k in config} == {key(k): v for k, v in config.items()}
    assert list(props)[-1] == key("write.format.default")
    assert list(props).index(key("s3.endpoint")) == list(build(load())).index(key("s3.endpoint"))


def test_a_config_type_is_flinks_catalog_type() -> None:
    props = lake.flink_catalog_properties(load(DP_ICEBERG_CATALOG__PROPERTIES='{"type": "hadoop"}'))
    assert (props["type"], props["catalog-type"]) == ("iceberg", "hadoop")


def test_duckdb_on_the_local_stack() -> None:
    duck = lake.duckdb_lakehouse(load())
    assert (duck.catalog, duck.warehouse) == ("lake", "s3://warehouse/")
    assert duck.s3_secret == {
        "TYPE": "s3",
        "REGION": "us-east-1",
        "ENDPOINT": "127.0.0.1:9000",
        "URL_STYLE": "path",
        "USE_SSL": "false",
        "KEY_ID": "minioadmin",
        "SECRET": "minioadmin",
    }
    assert duck.attach == {"TYPE": "iceberg", "ENDPOINT": "http://127.0.0.1:8181", "AUTHORIZATION_TYPE": "none"}


def test_duckdb_on_aws_uses_virtual_hosts_tls_and_the_credential_chain() -> None:
    secret = lake.duckdb_lakehouse(load("prod")).s3_secret
    assert secret == {
        "TYPE": "s3",
        "REGION": "eu-west-1",
        "URL_STYLE": "vhost",
        "USE_SSL": "true",
        "PROVIDER": "credential_chain",
    }


@pytest.mark.parametrize(
    ("endpoint", "address", "use_ssl"),
    [("https://s3.example:9443/", "s3.example:9443", "true"), ("s3.example:9000", "s3.example:9000", "true")],
)
def test_duckdb_endpoint_has_no_scheme_and_ssl_follows_it(endpoint: str, address: str, use_ssl: str) -> None:
    secret = lake.duckdb_lakehouse(load(DP_STORAGE_ENDPOINT_URL=endpoint)).s3_secret
    assert (secret["ENDPOINT"], secret["USE_SSL"]) == (address, use_ssl)


@pytest.mark.parametrize(
    ("variables", "auth"),
    [
        ({"DP_ICEBERG_CATALOG__TOKEN": TOKEN, "DP_ICEBERG_CATALOG__CREDENTIAL": CREDENTIAL}, {"TOKEN": TOKEN}),
        (
            {"DP_ICEBERG_CATALOG__CREDENTIAL": CREDENTIAL},
            {
                "CLIENT_ID": "client-7",
                "CLIENT_SECRET": "shh-9c1",
                "OAUTH2_SERVER_URI": "http://127.0.0.1:8181/v1/oauth/tokens",
                "OAUTH2_SCOPE": "catalog",
            },
        ),
        ({"DP_ICEBERG_CATALOG__CREDENTIAL": "only-secret"}, {"CLIENT_ID": "", "CLIENT_SECRET": "only-secret"}),
    ],
)
def test_duckdb_attach_authenticates_like_the_other_clients(variables: dict[str, str], auth: dict[str, str]) -> None:
    attach = lake.duckdb_lakehouse(load(**variables)).attach
    assert "AUTHORIZATION_TYPE" not in attach
    assert {k: attach[k] for k in auth} == auth


GLUE_SIGV4 = {"rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "eu-west-1"}


@pytest.mark.parametrize("form", FORMS)
def test_prod_signs_glue_rest_calls_with_sigv4_in_every_java_and_python_form(form: str) -> None:
    build, named = FORMS[form]
    props = build(load("prod"))
    assert {key: props[named(key)] for key in GLUE_SIGV4} == GLUE_SIGV4
    assert props[named("warehouse")] == "123456789012"  # Glue's REST warehouse is the catalog id


def test_duckdb_attaches_prod_with_sigv4_and_the_credential_chain() -> None:
    duck = lake.duckdb_lakehouse(load("prod"))
    assert duck.warehouse == "123456789012"
    assert duck.attach == {
        "TYPE": "iceberg",
        "ENDPOINT": "https://glue.eu-west-1.amazonaws.com/iceberg",
        "AUTHORIZATION_TYPE": "sigv4",
    }
    assert duck.s3_secret["PROVIDER"] == "credential_chain"


def test_duckdb_attaches_rest_catalogs_only() -> None:
    with pytest.raises(UnsupportedCatalogError, match=r"DuckDB attaches REST catalogs only; .* is 'glue'"):
        lake.duckdb_lakehouse(load(DP_ICEBERG_CATALOG__TYPE="glue"))


def test_no_secret_in_any_repr_or_str() -> None:
    settings = secured()
    shown = [lake.duckdb_lakehouse(settings), *(build(settings) for build, _ in FORMS.values())]
    for text in [repr(form) for form in shown] + [str(form) for form in shown]:
        assert REDACTED in text
        for secret in ("minioadmin", TOKEN, "shh-9c1", "client-7"):
            assert secret not in text, text


def test_properties_behave_as_a_read_only_dict() -> None:
    props = lake.Properties({"a": "1", "s3.secret-access-key": "x"})
    assert props == {"a": "1", "s3.secret-access-key": "x"} and dict(**props) == dict(props)
    assert repr(props) == f"Properties({{'a': '1', 's3.secret-access-key': '{REDACTED}'}})"
    with pytest.raises(TypeError):
        props["a"] = "2"  # type: ignore[index]


def test_a_uri_carrying_a_password_and_an_authorization_header_are_secrets() -> None:
    shown = lake.Properties(
        {
            "uri": "postgresql://lake:pw-77e1@db.internal:5432/catalog",
            "header.Authorization": "Bearer abc-123",
            "plain": "http://db.internal:5432/catalog",
            "at-sign": "user@example.com",
        }
    )
    text = repr(shown)
    assert "pw-77e1" not in text and "abc-123" not in text
    assert "http://db.internal:5432/catalog" in text and "user@example.com" in text
    assert lake.is_secret("uri", "postgresql://lake:pw@db/catalog")
    assert not lake.is_secret("uri", "postgresql://lake@db/catalog")  # a user name alone is no secret
