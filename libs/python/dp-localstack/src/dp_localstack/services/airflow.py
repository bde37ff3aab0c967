"""Airflow 3 (platform/orchestration/airflow, its own virtualenv): the api-server (UI, REST and the execution API the
workers report to), the scheduler (LocalExecutor), the DAG processor and the triggerer, each a process of the
``airflow`` CLI, with their metadata in the stack's PostgreSQL (database ``postgres.databases.airflow``).

The api-server's start migrates the metadata database (idempotent) and writes the admin's password file; the other
three are healthy when the api-server's ``/api/v2/monitor/health`` reports their heartbeat. The admin password is
the secret ``orchestration.airflow.admin_password``; when none is configured one is generated once into the
environment's secret folder (``config/secrets/<env>/``, git-ignored for that file), so it is never in git. The keys
the processes must share (JWT secret, session secret, Fernet key) are generated once under the runtime folder.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import InstallError
from dp_localstack.layout import Layout
from dp_localstack.services.base import LazyEnv, ServiceSpec, reveal, run
from dp_localstack.services.schema_registry import platform_env

#: The orchestration unit: its uv project (synced into ``<runtime>/venvs/airflow``) and its DAGs folder
AIRFLOW_UNIT = Path("platform") / "orchestration" / "airflow"
#: the secret file the admin password is generated into when none is configured
ADMIN_PASSWORD_SECRET = "orchestration.airflow.admin_password"  # noqa: S105 (a file name)


def airflow_venv(layout: Layout) -> Path:
    return layout.venv("airflow")


def airflow_home(layout: Layout) -> Path:
    return layout.data("airflow")


def airflow_bin(layout: Layout) -> str:
    path = airflow_venv(layout) / "bin" / "airflow"
    if not path.is_file():
        raise InstallError("airflow", f"the Airflow environment is missing ({path}): run `make install`")
    return str(path)


def dags_folder(layout: Layout) -> Path:
    return layout.repo / AIRFLOW_UNIT / "dags"


def admin_password(settings: PlatformSettings, layout: Layout) -> str:
    """The configured admin password, else the one generated (once) into the environment's secret folder."""
    configured = reveal(settings.orchestration.airflow.admin_password)
    if configured:
        return configured
    folder = Path(os.environ.get("DP_SECRETS_DIR") or layout.repo / "config" / "secrets" / settings.env)
    path = folder / ADMIN_PASSWORD_SECRET
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def _shared_keys(layout: Layout) -> dict[str, str]:
    """The keys every Airflow process must agree on, generated once (mode 0600) under the runtime folder."""
    path = layout.conf("airflow") / "keys.json"
    if path.is_file():
        keys: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return keys
    keys = {
        "jwt_secret": secrets.token_urlsafe(32),
        "secret_key": secrets.token_urlsafe(32),
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(keys), encoding="utf-8")
    return keys


def airflow_env(settings: PlatformSettings, layout: Layout) -> dict[str, str]:
    """The environment of every Airflow process of this stack (the services, ``dp local airflow``, the tests'
    ``airflow dags test``): Airflow's settings as ``AIRFLOW__`` variables, the platform's ``DP_`` ones."""
    af = settings.orchestration.airflow
    pg = settings.postgres
    keys = _shared_keys(layout)
    password = quote(reveal(pg.password) or "", safe="")
    api = f"http://{af.host}:{af.port}"
    venv_bin = str(airflow_venv(layout) / "bin")
    passwords = layout.conf("airflow") / "passwords.json"
    return {
        **platform_env(layout),
        "DP_LOCAL_RUNTIME_DIR": str(layout.runtime),
        # the venv's bin first: Airflow starts its own console scripts by name
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "AIRFLOW_HOME": str(airflow_home(layout)),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder(layout)),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(af.parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(af.parallelism),
        # a DAG appears paused: nothing runs on a developer's stack until someone unpauses it
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{af.admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg2://{quote(pg.user, safe='')}:{password}@{pg.host}:{pg.port}/{pg.databases.airflow}"
        ),
        "AIRFLOW__API__HOST": af.host,
        "AIRFLOW__API__PORT": str(af.port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.runtime / "logs" / "airflow"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(af.worker_log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(af.trigger_log_port),
        # 2 cores: parse seldom, one file at a time
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # no usage reporting from inside the stack (the machines may have no internet)
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "1",
        "DTHEINFRA_REPO": str(layout.repo),
    }


def dbt_manifest_dir(layout: Layout) -> Path:
    """Where the DAGs find Gold's parsed dbt project (``dp_orchestration.platform.dbt_manifest``)."""
    return layout.runtime / "airflow" / "dbt"


def render_dbt_manifest(layout: Layout, env: dict[str, str]) -> Path:
    """Parse Gold's dbt project into :func:`dbt_manifest_dir` (``dp transform dbt parse``, ~10 s), so the DAG
    processor renders one task per model from the project as it is now; return the manifest's path."""
    target = dbt_manifest_dir(layout)
    dp = str(Path(sys.executable).parent / "dp")
    run(
        [dp, "transform", "dbt", "parse", "--target-path", str(target)],
        "dbt parse (Gold's tasks in Airflow)",
        env={**os.environ, **env},
    )
    return target / "manifest.json"


def _component(url: str, component: str) -> health.Health:
    def check(body: dict[str, dict[str, str]]) -> health.Health:
        status = (body.get(component) or {}).get("status") or "no heartbeat yet"
        return health.Health(status == "healthy", f"{component}: {status}")

    return health.http_json(f"{url}/api/v2/monitor/health", check)


def airflow_services(settings: PlatformSettings, layout: Layout) -> list[ServiceSpec]:
    """The four Airflow processes, api-server first (the others report their heartbeat through the database it
    reads and run tasks through its execution API)."""
    af = settings.orchestration.airflow
    url = f"http://{af.host}:{af.port}"
    env = LazyEnv(lambda: airflow_env(settings, layout))

    def prepare_api() -> None:
        airflow_home(layout).mkdir(parents=True, exist_ok=True)
        passwords = layout.conf("airflow") / "passwords.json"
        passwords.parent.mkdir(parents=True, exist_ok=True)
        passwords.touch(mode=0o600)
        passwords.write_text(json.dumps({af.admin_user: admin_password(settings, layout)}), encoding="utf-8")
        run([airflow_bin(layout), "db", "migrate"], "airflow db migrate (metadata in PostgreSQL)", env=dict(env))

    def prepare_dags() -> None:
        render_dbt_manifest(layout, dict(platform_env(layout)))

    def process(name: str, args: list[str], description: str, check: str, port: int = 0) -> ServiceSpec:
        return ServiceSpec(
            name=name,
            group="full",
            port=port,
            description=description,
            command=lambda: [airflow_bin(layout), *args],
            env=env,
            cwd=airflow_home(layout),
            health=lambda: _component(url, check),
            prepare={"airflow-api": prepare_api, "airflow-dags": prepare_dags}.get(name),
            url=url if name == "airflow-api" else "",
        )

    return [
        process(
            "airflow-api",
            ["api-server"],
            f"Airflow 3 api-server (UI + REST, user {af.admin_user})",
            "metadatabase",
            af.port,
        ),
        process(
            "airflow-scheduler", ["scheduler"], "Airflow scheduler (LocalExecutor)", "scheduler", af.worker_log_port
        ),
        process(
            "airflow-dags",
            ["dag-processor"],
            "Airflow DAG processor (platform/orchestration/airflow/dags)",
            "dag_processor",
        ),
        process("airflow-triggerer", ["triggerer"], "Airflow triggerer", "triggerer", af.trigger_log_port),
    ]
