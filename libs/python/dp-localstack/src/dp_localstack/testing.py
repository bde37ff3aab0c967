"""pytest fixtures for tests on the real local stack (loaded by the repo's root conftest.py), and the helpers
tests of several units share.

``local_stack`` starts the core services when they are not running (and leaves them running for the next test
run); ``run_id`` gives each test run its own topic, namespace and key prefixes so reruns never collide;
``repo_root`` is the checkout under test. :func:`scratch_checkout` makes a checkout whose contracts live in a domain
of its own (its topics, subjects and tables are new), :func:`run_dp` runs the ``dp`` command there as a user does.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from dp_core.config import LoadedConfig, find_config_dir, find_repo_root, load_settings
from dp_localstack.layout import Layout
from dp_localstack.stack import LocalStack

#: the ``dp`` command of the environment the tests run in
DP = str(Path(sys.executable).parent / "dp")


@pytest.fixture(scope="session")
def repo_root(pytestconfig: pytest.Config) -> Path:
    """The checkout under test: the folder that holds ``config/`` and ``schemas/``."""
    return find_repo_root(pytestconfig.rootpath)


@pytest.fixture(scope="session")
def platform_config() -> LoadedConfig:
    """The effective configuration the tests run with (DP_ENV, default local)."""
    return load_settings(find_config_dir(Path.cwd(), os.environ), os.environ)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run, usable in topic, namespace and object names."""
    return f"t{time.strftime('%H%M%S')}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def local_stack(platform_config: LoadedConfig) -> Iterator[LocalStack]:
    """The core stack, healthy. Started here if it is not running already."""
    stack = LocalStack(platform_config.settings, Layout.from_config(platform_config), echo=print)
    stack.up(core_only=True)
    yield stack


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def clean_environ(drop: tuple[str, ...] = ("DP_",), keep: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment without the variables that start with ``drop`` (the ``DP_*`` overrides), but for
    those named in ``keep``: a checkout's own config then decides."""
    return {k: v for k, v in os.environ.items() if not k.startswith(drop) or k in keep}


def run_command(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600.0
) -> subprocess.CompletedProcess[str]:
    """``argv`` run to its end in ``cwd`` with ``env`` (default: this process's), its output captured as text; a
    non-zero exit is the caller's to check."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_dp(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600.0
) -> subprocess.CompletedProcess[str]:
    """``dp args`` in the checkout ``cwd``, as :func:`run_command` runs a command."""
    return run_command([DP, *args], cwd, env, timeout)


#: the dbt project, relative to a checkout's root
DBT_PROJECT = Path("platform") / "transformation" / "dbt" / "project"


def scratch_checkout(repo: Path, root: Path, domain: str) -> Path:
    """``root`` made a checkout of its own: ``repo``'s ``config/`` and its commerce contracts under the domain
    ``domain`` (``schemas/avro/<domain>``), so its topics, subjects, tables and consumer groups are new; and the dbt
    project (Gold's build runs the checkout's own; its sources read the run's domain, so they hold as they are)."""
    shutil.copytree(repo / "config", root / "config")
    shutil.copytree(repo / DBT_PROJECT, root / DBT_PROJECT)
    shutil.copytree(repo / "schemas" / "avro" / "commerce", root / "schemas" / "avro" / domain)
    return root


def simulate_args(
    count: int,
    seed: int,
    start: dt.datetime | None = None,
    *,
    manifest: Path | None = None,
    fractions: Mapping[str, float] | None = None,
) -> list[str]:
    """The arguments of ``dp ingest simulate``: ``count`` events of the seed ``seed`` from ``start``, with
    ``fractions`` (``late``, ``duplicates``, ``malformed``) and a ``manifest`` file when given."""
    args = ["ingest", "simulate", "--count", str(count), "--seed", str(seed)]
    if start is not None:
        args += ["--start", start.strftime("%Y-%m-%dT%H:%M:%S%z")]
    args += [f"--{name}={value}" for name, value in (fractions or {}).items()]
    return args + ([f"--manifest={manifest}"] if manifest is not None else [])


def airflow_test_env(stack: LocalStack, config_dir: Path, **dp_vars: str) -> dict[str, str]:
    """The environment of an ``airflow`` command (``airflow dags test``) on this stack for the checkout whose
    ``config/`` is ``config_dir``: Airflow's settings of the stack (metadata in its PostgreSQL, the DAGs of this
    repository), this process's environment without its ``DP_*`` overrides, then ``dp_vars``."""
    from dp_localstack.services.airflow import airflow_env

    airflow = {k: v for k, v in airflow_env(stack.settings, stack.layout).items() if not k.startswith("DP_")}
    return {
        **clean_environ(),
        **airflow,
        "DP_CONFIG_DIR": str(config_dir),
        "DP_LOCAL_RUNTIME_DIR": str(stack.layout.runtime),
        **dp_vars,
    }


def airflow_dags_test(
    stack: LocalStack,
    env: Mapping[str, str],
    dag_id: str,
    conf: Mapping[str, object] | None = None,
    timeout: float = 900,
) -> str:
    """``airflow dags test DAG_ID [-c CONF]`` to its end; its output. Fails the test (with the output's tail) unless
    the run finished ``success``."""
    import json

    from dp_localstack.services.airflow import airflow_bin

    argv = [airflow_bin(stack.layout), "dags", "test", dag_id, *(["-c", json.dumps(conf)] if conf else [])]
    result = run_command(argv, stack.layout.runtime, env, timeout)
    output = result.stdout + result.stderr
    finished = f"DagRun Finished: dag_id={dag_id}"
    line = next((ln for ln in output.splitlines() if finished in ln), "")
    assert result.returncode == 0 and "state=success" in line, f"{dag_id}: {line or 'no end'}\n{output[-4000:]}"
    return output


def airflow_ready(stack: LocalStack) -> dict[str, str]:
    """The stack's Airflow metadata database migrated and Gold's dbt project parsed for the DAGs (what the Airflow
    services do when they start); Airflow's environment for the stack's own checkout."""
    from dp_localstack.services.airflow import airflow_bin, airflow_env, render_dbt_manifest
    from dp_localstack.services.base import run as run_tool

    env = airflow_env(stack.settings, stack.layout)
    run_tool([airflow_bin(stack.layout), "db", "migrate"], "airflow db migrate", env=env)
    render_dbt_manifest(stack.layout, env)
    return env
