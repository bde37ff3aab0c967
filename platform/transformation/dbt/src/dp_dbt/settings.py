"""The dbt unit's settings: which dbt target runs Gold (a local Spark session or a Spark Thrift server).

A configuration section of its own shape (frozen, unknown keys refused, like every ``dp_core.config`` section), meant
to become ``PlatformSettings.transform`` so that ``transform.target: thrift`` in an environment's YAML switches prod
to the Thrift server (EMR) while local runs keep an embedded session.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from dp_core.config.models import Section

Target = Literal["session", "thrift"]


class ThriftSettings(Section):
    """A Spark Thrift server (EMR's, or ``start-thriftserver.sh``): the catalog is configured on the server."""

    host: str | None = Field(None, description="Thrift server host; required when transform.target is thrift")
    port: int = Field(10000, ge=1, le=65535)
    user: str | None = None
    auth: Literal["NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM"] | None = None
    kerberos_service_name: str | None = None
    password: SecretStr | None = Field(None, description="LDAP/CUSTOM password (a secret: never in YAML)")


class TransformSettings(Section):
    """How ``dp transform`` runs dbt."""

    target: Target = Field("session", description="session: an embedded local Spark; thrift: a Spark Thrift server")
    namespace: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]*$", description="Namespace of the models; default iceberg.namespaces.gold"
    )
    threads: int = Field(1, ge=1, description="Models dbt builds at once (one Spark session serves them all)")
    master: str = Field("local[2]", description="Spark master of the session target")
    thrift: ThriftSettings = ThriftSettings()
