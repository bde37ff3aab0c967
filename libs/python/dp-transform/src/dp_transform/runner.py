"""Running dbt on the generated profile: the edge that writes ``profiles.yml`` and starts the dbt process.

dbt lives in an environment of its own (``.runtime/venvs/dbt``: dbt-core 1.10 and the main environment's tools pin
clashing versions), so dbt is started as a process, never imported. The profile is written under the runtime folder
(``.runtime/dbt/profiles.yml``, mode 0600, no secret in it: the secrets travel in the process environment), and so
are dbt's ``target/``, its logs and the docs site; the project folder stays clean. dbt's output is not captured: it
goes straight to this process's, as dbt shows it.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_core.config import LoadedConfig
from dp_core.config.models import TransformSettings
from dp_core.errors import PlatformError
from dp_core.scratch import scratch_dir
from dp_flink import names
from dp_transform.errors import TransformSetupError
from dp_transform.profile import Profile, build_profile

#: The dbt unit (its uv project and the dbt project), relative to the repository root.
DBT_UNIT = Path("platform") / "transformation" / "dbt"
#: The environment variable the project's models read the contract domain from (``macros/silver_source.sql``).
DOMAIN_ENV = "DTHEINFRA_DBT_DOMAIN"
#: Silver's namespace (iceberg.namespaces.silver) for the generated sources' ``schema``
SILVER_NAMESPACE_ENV = "DTHEINFRA_DBT_SILVER_NAMESPACE"
#: how far Gold's watermark trails its slowest Silver source, in seconds (``macros/record_progress.sql``)
LATENESS_ENV = "DTHEINFRA_DBT_ALLOWED_LATENESS_S"
#: the label of the speed layer's windows (``1m`` for stream.window_s 60): the aggregator's tables the reconciliation
#: reads (``models/staging/_speed_sources.yml``)
SPEED_WINDOW_ENV = "DTHEINFRA_DBT_SPEED_WINDOW"
#: the orders topic, whose watermark in the aggregator's progress closes its windows (``reconciliation_1m``)
ORDERS_TOPIC_ENV = "DTHEINFRA_DBT_ORDERS_TOPIC"


@dataclass(frozen=True)
class ProjectEnv:
    """What the project's models and macros read through ``env_var``: the contract domain of the Silver tables,
    Silver's namespace, the allowed lateness of Gold's watermark (``batch.gold.allowed_lateness_s``), and for the
    reconciliation with the speed layer its window label and the orders topic."""

    domain: str
    silver_namespace: str
    allowed_lateness_s: int = 3600
    speed_window: str = "1m"
    orders_topic: str = ""

    def environ(self) -> dict[str, str]:
        return {
            DOMAIN_ENV: self.domain,
            SILVER_NAMESPACE_ENV: self.silver_namespace,
            LATENESS_ENV: str(self.allowed_lateness_s),
            SPEED_WINDOW_ENV: self.speed_window,
            ORDERS_TOPIC_ENV: self.orders_topic or f"{self.domain}.order_placed.v1",
        }


@dataclass(frozen=True)
class DbtPaths:
    """Where dbt is for one checkout: its executable (the dbt environment), its project, and its work folder."""

    executable: Path
    project_dir: Path
    #: ``profiles.yml``, and dbt's ``target/``, ``logs/`` and ``docs/``
    work_dir: Path

    @classmethod
    def of(cls, loaded: LoadedConfig) -> DbtPaths:
        """The paths of the checkout ``loaded`` was read from (``<local.runtime_dir>/venvs/dbt``, ``.../dbt``)."""
        runtime = loaded.runtime_dir
        return cls(
            executable=runtime / "venvs" / "dbt" / "bin" / "dbt",
            project_dir=loaded.repo_root / DBT_UNIT / "project",
            work_dir=runtime / "dbt",
        )

    @property
    def log_file(self) -> Path:
        """dbt's own log (``DBT_LOG_PATH``): what a failed command logged beyond its output."""
        return self.work_dir / "logs" / "dbt.log"

    @property
    def run_results(self) -> Path:
        """What the last dbt command did, node by node (:mod:`dp_transform.results`)."""
        return self.work_dir / "target" / "run_results.json"

    @property
    def docs_dir(self) -> Path:
        """Where ``dbt docs generate`` writes the static docs site (``index.html``, ``catalog.json``, ...)."""
        return self.work_dir / "docs"

    def model_names(self) -> list[str]:
        """The project's models by name (its ``models/**/*.sql``): the relations a build writes into its namespace."""
        return sorted(path.stem for path in (self.project_dir / "models").rglob("*.sql"))

    def mart_names(self) -> list[str]:
        """The project's marts (``models/marts/*.sql``): the tables Gold serves."""
        return sorted(path.stem for path in (self.project_dir / "models" / "marts").glob("*.sql"))

    def require_dbt(self) -> None:
        """Raise :class:`TransformSetupError` (saying ``make install``) when the dbt environment is missing."""
        if not self.executable.is_file():
            raise TransformSetupError(f"the dbt environment is missing ({self.executable}): run `make install`")


def dbt_environ(paths: DbtPaths, profile: Profile, environ: Mapping[str, str], project: ProjectEnv) -> dict[str, str]:
    """The dbt process's environment: ``environ``, the profile's secrets, dbt's folders and what the project reads
    (:class:`ProjectEnv`)."""
    return {
        **environ,
        **profile.secret_env,
        "DBT_PROJECT_DIR": str(paths.project_dir),
        "DBT_PROFILES_DIR": str(paths.work_dir),
        "DBT_TARGET_PATH": str(paths.work_dir / "target"),
        "DBT_LOG_PATH": str(paths.log_file.parent),
        # no network beyond the platform's services: no usage tracking, no version check
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "SPARK_LOCAL_IP": environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        # the staging models read the Silver tables of this domain (<domain>__<entity>) in the namespace the settings
        # give (a DP_ override included); the marts' progress takes the lateness
        **project.environ(),
    }


def write_profile(profile: Profile, profiles_dir: Path) -> Path:
    """Write ``profiles.yml`` into ``profiles_dir`` (readable by its owner only); return its path."""
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(profile.render(), encoding="utf-8")
    return path


def run_dbt(
    paths: DbtPaths,
    profile: Profile,
    args: Sequence[str],
    environ: Mapping[str, str],
    project: ProjectEnv,
    stdout: IO[str] | None = None,
) -> int:
    """Run ``dbt <args>`` on ``profile``, its output going straight to this process's (or to ``stdout``: a caller
    whose own stdout is JSON sends dbt's to stderr); return dbt's exit code.

    Raises:
        TransformSetupError: the dbt environment is missing or its ``dbt`` cannot be started.
    """
    paths.require_dbt()
    write_profile(profile, paths.work_dir)
    paths.run_results.unlink(missing_ok=True)  # a dbt that dies early must not leave the last command's behind
    command = [str(paths.executable), *args]
    try:
        result = subprocess.run(command, env=dbt_environ(paths, profile, environ, project), stdout=stdout, check=False)
    except OSError as exc:
        raise TransformSetupError(f"cannot start {paths.executable} ({exc.strerror}): run `make install`") from exc
    return result.returncode


#: dbt commands that never open a connection: they run without a Thrift server.
OFFLINE_COMMANDS = frozenset({"parse", "deps", "clean", "list", "ls", "init"})
#: options after which dbt only prints and exits
PRINT_ONLY = frozenset({"--help", "-h", "--version"})


def needs_connection(args: Sequence[str]) -> bool:
    """Whether ``dbt <args>`` opens a connection to its target: not ``parse``, ``ls`` ... (after any global option,
    ``--quiet parse``), nor anything with ``--help`` or ``--version``."""
    if PRINT_ONLY & set(args):
        return False
    command = next((arg for arg in args if not arg.startswith("-")), None)
    return command not in OFFLINE_COMMANDS


def require_thrift_server(transform: TransformSettings, timeout_s: float = 5.0) -> None:
    """Raise :class:`TransformSetupError` with what to do when the thrift target's server does not accept a
    connection: dbt would otherwise retry and end with a driver's traceback.

    Raises:
        TransformSetupError: ``transform.thrift.host`` unset, or nothing listens at its port.
    """
    thrift = transform.thrift
    if not thrift.host:
        raise TransformSetupError("transform.target is thrift but transform.thrift.host is not set")
    try:
        with socket.create_connection((thrift.host, thrift.port), timeout=timeout_s):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise TransformSetupError(
        f"the Spark Thrift server at {thrift.host}:{thrift.port} does not answer ({reason}): start it "
        "(`make local-up-core` runs it locally as `spark-thrift`), or run dbt in a Spark of its own with "
        "`--target session`"
    )


def checked_domain(loaded: LoadedConfig, domain: str | None) -> str:
    """``domain`` (default ``demo.domain``), which must have contracts (a domain without them, a typo, would fail every
    staging view on a missing table).

    Raises:
        TransformSetupError: no contract of the checkout has that domain.
    """
    chosen = domain or loaded.settings.demo.domain
    root = contracts_dir(loaded.repo_root)
    domains = sorted({contract.domain for contract in load_contracts(root)})
    if chosen not in domains:
        raise TransformSetupError(
            f"no contracts of domain {chosen!r} under {root} (--domain or demo.domain; there: {', '.join(domains)})"
        )
    return chosen


def orders_topic(loaded: LoadedConfig, domain: str) -> str:
    """The topic of ``domain``'s ``order_placed`` contract ("" when the domain has none: the project's default)."""
    contracts = [c for c in load_contracts(contracts_dir(loaded.repo_root)) if c.domain == domain]
    try:
        return find_contract(contracts, "order_placed").topic
    except PlatformError:
        return ""


def run_on_settings(
    loaded: LoadedConfig,
    transform: TransformSettings,
    args: Sequence[str],
    environ: Mapping[str, str],
    domain: str,
    stdout: IO[str] | None = None,
) -> int:
    """Run ``dbt <args>`` on the profile of ``transform`` and the Silver tables of ``domain`` under the settings of
    ``loaded`` (Silver's namespace, Gold's allowed lateness); return dbt's exit code. What ``dp transform`` runs;
    also for callers that run dbt as one step of their own (the batch benchmark).

    Raises:
        TransformSetupError: the dbt environment is missing, or the profile cannot be built.
    """
    paths = DbtPaths.of(loaded)
    paths.require_dbt()
    if transform.target == "thrift" and needs_connection(args):
        require_thrift_server(transform)
    profile = build_profile(loaded, transform, scratch=scratch_dir(loaded.runtime_dir, "dbt"))
    project = ProjectEnv(
        domain=domain,
        silver_namespace=loaded.settings.iceberg.namespaces.silver,
        allowed_lateness_s=loaded.settings.batch.gold.allowed_lateness_s,
        speed_window=names.window_label(loaded.settings.stream.window_s),
        orders_topic=orders_topic(loaded, domain),
    )
    return run_dbt(paths, profile, args, environ, project, stdout)
