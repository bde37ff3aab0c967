"""dbt's ``profiles.yml`` built from the platform settings (pure: nothing is written, dbt is not imported).

One profile, :data:`PROFILE_NAME`, with the one output that ``transform.target`` names:

* ``session`` -- dbt-spark's ``method: session``: dbt runs its SQL in a SparkSession of its own process, built from
  ``server_side_parameters``. Those are the very properties ``dp batch`` opens its sessions with
  (:func:`dp_spark.conf.spark_conf`: the jars, the Iceberg extensions, the shared catalog as the default catalog,
  S3FileIO), plus an in-memory session catalog (dbt-spark asks for Hive support, which would otherwise create a
  Derby metastore in the working folder).
* ``thrift`` -- a Spark Thrift server (EMR): the catalog and jars are the server's; the profile names the host.

No secret is written: a secret value (S3 keys, catalog token, Thrift password) appears in the document as dbt's
``{{ env_var('DBT_ENV_SECRET_...') }}`` and travels in :attr:`Profile.secret_env`, the environment of the dbt
process only; dbt masks ``DBT_ENV_SECRET_`` values in its logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dp_core.config import LoadedConfig
from dp_core.config.models import TransformSettings
from dp_lakehouse.properties import Properties, is_secret
from dp_spark.conf import local_scratch_conf, spark_conf
from dp_transform.errors import TransformSetupError

#: The profile ``dbt_project.yml`` names.
PROFILE_NAME = "dtheinfra"
#: dbt reads secrets from variables with this prefix in ``profiles.yml`` only, and masks their values in its logs.
SECRET_ENV_PREFIX = "DBT_ENV_SECRET_"  # noqa: S105 -- a variable-name prefix, not a secret
#: Spark properties the session target sets over :func:`dp_spark.conf.spark_conf`.
SESSION_OVERRIDES: Mapping[str, str] = {
    "spark.app.name": "dp-transform",
    # dbt-spark builds its session with enableHiveSupport(); Gold lives in the Iceberg catalog, so the session catalog
    # stays in memory (no Derby metastore_db/ in the working folder).
    "spark.sql.catalogImplementation": "in-memory",
    # no web UI: it would take the next free port from 4040 for each run
    "spark.ui.enabled": "false",
}
#: Session properties sent to a Thrift server (its catalogs and jars are its own).
THRIFT_PARAMETERS: Mapping[str, str] = {"spark.sql.session.timeZone": "UTC"}


@dataclass(frozen=True)
class Profile:
    """A ``profiles.yml`` document whose secrets are ``env_var`` references, and the variables that resolve them."""

    target: str
    document: Mapping[str, Any]
    secret_env: Properties

    def render(self) -> str:
        """The YAML text of ``profiles.yml`` (it holds no secret value)."""
        return yaml.safe_dump(_plain(self.document), sort_keys=False)


def secret_env_name(key: str) -> str:
    """The variable that carries the secret property ``key``: ``DBT_ENV_SECRET_`` + the key in upper snake case."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_")


def env_var_ref(name: str) -> str:
    """dbt's Jinja reference to the variable ``name`` (rendered when dbt loads the profile)."""
    return "{{ env_var('" + name + "') }}"


def build_profile(loaded: LoadedConfig, transform: TransformSettings, *, scratch: Path | None = None) -> Profile:
    """The profile of ``transform.target`` on the settings of ``loaded``; a local session's JVM keeps its temporary
    files in ``scratch`` (see :mod:`dp_core.scratch`) when given.

    Raises:
        TransformSetupError: the thrift target without ``transform.thrift.host``.
        SparkSetupError: the session target without the Spark jars (``make install`` fetches them).
    """
    namespace = transform.namespace or loaded.settings.iceberg.namespaces.gold
    common: dict[str, Any] = {"type": "spark", "schema": namespace, "threads": transform.threads}
    secrets: dict[str, str] = {}
    if transform.target == "session":
        params = {**spark_conf(loaded, master=transform.master), **SESSION_OVERRIDES}
        if scratch is not None and transform.master.startswith("local"):
            params.update(local_scratch_conf(params, scratch))
        output = {**common, "method": "session", "host": "localhost", "server_side_parameters": _hide(params, secrets)}
    else:
        output = {**common, **_thrift_output(transform, secrets)}
    document = {PROFILE_NAME: {"target": transform.target, "outputs": {transform.target: output}}}
    return Profile(target=transform.target, document=document, secret_env=Properties(secrets))


def _thrift_output(transform: TransformSettings, secrets: dict[str, str]) -> dict[str, Any]:
    thrift = transform.thrift
    if not thrift.host:
        raise TransformSetupError("transform.target is thrift but transform.thrift.host is not set")
    # dbt-spark sleeps poll_interval between polls of every statement (5 s by default): most take well under 1 s
    output: dict[str, Any] = {
        "method": "thrift",
        "host": thrift.host,
        "port": thrift.port,
        "poll_interval": thrift.poll_interval_s,
    }
    optional = {"user": thrift.user, "auth": thrift.auth, "kerberos_service_name": thrift.kerberos_service_name}
    output.update({key: value for key, value in optional.items() if value is not None})
    if thrift.password is not None:
        name = secret_env_name("transform.thrift.password")
        secrets[name] = thrift.password.get_secret_value()
        output["password"] = env_var_ref(name)
    output["server_side_parameters"] = dict(THRIFT_PARAMETERS)
    return output


def _hide(params: Mapping[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """``params`` with each secret value replaced by an ``env_var`` reference, the value moved into ``secrets``."""
    shown: dict[str, str] = {}
    for key, value in params.items():
        if is_secret(key, value):
            name = secret_env_name(key)
            secrets[name] = value
            shown[key] = env_var_ref(name)
        else:
            shown[key] = value
    return shown


def _plain(value: Any) -> Any:
    """Mappings as dicts all the way down (``yaml.safe_dump`` refuses other mapping types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
