"""The shared Iceberg catalog and its S3 object store as each client's properties, from the settings (pure).

One mapping for every client of the lakehouse, built from ``iceberg.catalog.*`` and ``storage.*``; each engine's
adapter (which imports the engine) stays in its own unit and only renders what it gets from here:

* :func:`iceberg_properties` -- the neutral form: the catalog's properties under Iceberg's own (Java) names
  (``type``, ``uri``, ``warehouse``, S3FileIO's ``io-impl``, ``client.region``, ``s3.endpoint``,
  ``s3.path-style-access``, ``s3.access-key-id``, ``s3.secret-access-key``, ``token``, ``credential``, and from
  ``iceberg.catalog.properties`` e.g. the SigV4 signing of AWS Glue's REST endpoint, ``rest.sigv4-enabled``). Every
  engine form below is a translation of it.
* :func:`pyiceberg_properties` -- ``load_catalog(name, **props)`` (:mod:`dp_lakehouse.pyiceberg`).
* :func:`spark_catalog_conf` -- the ``spark.sql.catalog.<name>.*`` entries (``dp_spark.conf``).
* :func:`flink_catalog_properties` -- Flink's ``CREATE CATALOG <name> WITH (...)`` properties (``dp_flink.catalog``).
* :func:`duckdb_lakehouse` -- DuckDB's ``CREATE SECRET (TYPE s3, ...)`` parameters and the iceberg extension's
  ``ATTACH '<warehouse>' AS <name> (TYPE iceberg, ...)`` options.

Precedence, the same for every form: **explicit config wins**. The neutral form is the derived properties with
every entry of ``iceberg.catalog.properties`` set over them, verbatim (a config key replaces the derived property of
the same name, a new key is added); the engine forms translate that result, so a config value reaches every engine
(Spark: under its ``spark.sql.catalog.<name>.`` prefix; Flink: a config ``type`` is the ``catalog-type``; DuckDB:
the keys it has a parameter for, e.g. ``s3.endpoint``, ``client.region``, ``token``).

Secrets (S3 keys, catalog token and credential) are plain strings in the forms, as the engines need them, but every
form is a :class:`Properties`, whose ``repr``/``str`` show ``********`` in their place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dp_core.config import PlatformSettings
from dp_core.config.render import REDACTED
from dp_lakehouse.errors import UnsupportedCatalogError

#: Iceberg's S3 FileIO, the one the Java engines (Spark, Flink) read and write the warehouse with.
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
#: Spark's catalog plugin for an Iceberg catalog.
SPARK_CATALOG = "org.apache.iceberg.spark.SparkCatalog"
#: The platform's catalog types (pyiceberg's names) under the names Iceberg's Java catalogs know them by.
JAVA_CATALOG_TYPES: Mapping[str, str] = {"rest": "rest", "glue": "glue", "sql": "jdbc"}
#: Catalog types reached through ``iceberg.catalog.uri`` (a Glue catalog is found by region and account).
URI_CATALOG_TYPES = frozenset({"rest", "sql"})

#: Iceberg's REST property that signs every catalog request with AWS SigV4 (the Glue Iceberg REST endpoint); the Java
#: engines and pyiceberg read it and ``rest.signing-name``/``rest.signing-region`` under these very names, DuckDB
#: takes it as ``AUTHORIZATION_TYPE 'sigv4'``.
SIGV4_ENABLED = "rest.sigv4-enabled"
#: Key fragments that mark a property as secret (case-insensitive), whatever the form's naming.
_SECRET_MARKERS = ("secret", "token", "credential", "password", "key-id", "key_id", "client_id", "authorization")
#: pyiceberg's names for the neutral properties it spells differently; ``None``: a property pyiceberg has no use for
#: (``io-impl`` names a Java class; pyiceberg picks its FileIO from the warehouse scheme or ``py-io-impl``).
_PYICEBERG_NAMES: Mapping[str, str | None] = {"client.region": "s3.region", "io-impl": None}
_PYICEBERG_TYPES = {java: python for python, java in JAVA_CATALOG_TYPES.items()}


def is_secret(key: str, value: str = "") -> bool:
    """Whether the property ``key`` holds a secret (S3 keys, tokens, credentials, in any form's naming), or its
    ``value`` is a URI carrying a password (``postgresql://user:password@host/db`` of a SQL catalog)."""
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS) or _has_password(value)


def _has_password(value: str) -> bool:
    if "@" not in value or "://" not in value:
        return False
    try:
        return urlsplit(value).password is not None
    except ValueError:  # not a URI after all
        return False


class Properties(Mapping[str, str]):
    """An immutable ``str -> str`` mapping of client properties whose ``repr``/``str`` hide every secret value.

    It compares equal to a ``dict`` with the same items and unpacks with ``**`` like one.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        shown = {k: REDACTED if is_secret(k, v) else v for k, v in self._items.items()}
        return f"Properties({shown!r})"


def iceberg_properties(settings: PlatformSettings) -> Properties:
    """The catalog and S3FileIO properties under Iceberg's own names, ``iceberg.catalog.properties`` over them."""
    cat, storage = settings.iceberg.catalog, settings.storage
    props = {"type": JAVA_CATALOG_TYPES[cat.type], "warehouse": cat.warehouse}
    if cat.type in URI_CATALOG_TYPES:
        props["uri"] = cat.uri
    props["io-impl"] = S3_FILE_IO
    props["client.region"] = storage.region
    props["s3.path-style-access"] = str(storage.path_style_access).lower()
    if storage.endpoint_url:
        props["s3.endpoint"] = storage.endpoint_url
    if storage.access_key_id and storage.secret_access_key:
        props["s3.access-key-id"] = storage.access_key_id.get_secret_value()
        props["s3.secret-access-key"] = storage.secret_access_key.get_secret_value()
    if cat.token:
        props["token"] = cat.token.get_secret_value()
    if cat.credential:
        props["credential"] = cat.credential.get_secret_value()
    return Properties({**props, **cat.properties})


def pyiceberg_properties(settings: PlatformSettings) -> Properties:
    """The keyword properties of pyiceberg's ``load_catalog(name, **props)``: the neutral form in pyiceberg's names."""
    props: dict[str, str] = {}
    for key, value in iceberg_properties(settings).items():
        name = _PYICEBERG_NAMES.get(key, key)
        if name is not None:
            props[name] = value
    props["type"] = _PYICEBERG_TYPES.get(props["type"], props["type"])
    return Properties(props)


def spark_catalog_conf(settings: PlatformSettings) -> Properties:
    """The ``spark.sql.catalog.<name>[.*]`` entries that register the shared catalog in a SparkSession."""
    prefix = f"spark.sql.catalog.{settings.iceberg.catalog.name}"
    entries = {f"{prefix}.{key}": value for key, value in iceberg_properties(settings).items()}
    return Properties({prefix: SPARK_CATALOG, **entries})


def flink_catalog_properties(settings: PlatformSettings) -> Properties:
    """Flink's ``CREATE CATALOG <name> WITH (...)`` properties: the neutral form, its ``type`` as ``catalog-type``."""
    props = dict(iceberg_properties(settings))
    catalog_type = props.pop("type")
    return Properties({"type": "iceberg", "catalog-type": catalog_type, **props})


@dataclass(frozen=True)
class DuckDBLakehouse:
    """What a DuckDB client runs to read the lakehouse (httpfs and iceberg extensions loaded)::

        CREATE SECRET (TYPE s3, <s3_secret>);
        ATTACH '<warehouse>' AS <catalog> (TYPE iceberg, <attach>);

    Values are strings; the client quotes them as SQL literals (DuckDB casts ``'true'`` to a BOOLEAN option).
    """

    catalog: str
    warehouse: str
    s3_secret: Properties
    attach: Properties


def duckdb_lakehouse(settings: PlatformSettings) -> DuckDBLakehouse:
    """DuckDB's S3 secret and REST catalog attachment for the shared catalog (REST catalogs only)."""
    cat = settings.iceberg.catalog
    if cat.type != "rest":
        raise UnsupportedCatalogError(f"DuckDB attaches REST catalogs only; iceberg.catalog.type is {cat.type!r}")
    props = iceberg_properties(settings)
    return DuckDBLakehouse(
        catalog=cat.name, warehouse=props["warehouse"], s3_secret=_duckdb_s3_secret(props), attach=_duckdb_attach(props)
    )


def _duckdb_s3_secret(props: Mapping[str, str]) -> Properties:
    """``CREATE SECRET (TYPE s3, ...)``: endpoint without scheme, SSL from its scheme, static keys or the AWS chain."""
    secret = {"TYPE": "s3", "REGION": props["client.region"]}
    use_ssl = True
    if endpoint := props.get("s3.endpoint"):
        scheme, sep, address = endpoint.partition("://")
        secret["ENDPOINT"] = address.rstrip("/") if sep else endpoint.rstrip("/")
        use_ssl = not sep or scheme.lower() == "https"
    secret["URL_STYLE"] = "path" if props["s3.path-style-access"].lower() == "true" else "vhost"
    secret["USE_SSL"] = str(use_ssl).lower()
    if "s3.access-key-id" in props and "s3.secret-access-key" in props:
        secret["KEY_ID"] = props["s3.access-key-id"]
        secret["SECRET"] = props["s3.secret-access-key"]
    else:
        secret["PROVIDER"] = "credential_chain"
    return Properties(secret)


def _duckdb_attach(props: Mapping[str, str]) -> Properties:
    """``ATTACH ... (TYPE iceberg, ...)``: the REST endpoint and its auth (SigV4, bearer token, OAuth2 client, none)."""
    uri = props["uri"]
    attach = {"TYPE": "iceberg", "ENDPOINT": uri}
    if props.get(SIGV4_ENABLED, "").lower() == "true":
        # AWS Glue's Iceberg REST endpoint: requests signed with the S3 secret's credential chain and region
        attach["AUTHORIZATION_TYPE"] = "sigv4"
    elif "token" in props:
        attach["TOKEN"] = props["token"]
    elif "credential" in props:
        # Iceberg's credential is "<client id>:<client secret>", or the secret alone
        client_id, sep, client_secret = props["credential"].partition(":")
        attach["CLIENT_ID"], attach["CLIENT_SECRET"] = (client_id, client_secret) if sep else ("", client_id)
        attach["OAUTH2_SERVER_URI"] = props.get("oauth2-server-uri", f"{uri.rstrip('/')}/v1/oauth/tokens")
        attach["OAUTH2_SCOPE"] = props.get("scope", "catalog")
    else:
        attach["AUTHORIZATION_TYPE"] = "none"
    return Properties(attach)
