"""Running dbt on the generated profile: the edge that writes ``profiles.yml`` and starts the dbt process.

dbt lives in an environment of its own (``.runtime/venvs/dbt``: dbt-core 1.10 and the main environment's tools pin
clashing versions), so dbt is started as a process, never imported. The profile is written under the runtime folder
(``.runtime/dbt/profiles.yml``, mode 0600, no secret in it: the secrets travel in the process environment), and so
are dbt's ``target/`` and logs; the project folder stays clean.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dp_core.config import LoadedConfig
from dp_dbt.errors import TransformSetupError
from dp_dbt.profile import Profile


@dataclass(frozen=True)
class DbtPaths:
    """Where dbt is for one checkout: its executable (the dbt environment), its project, and its work folder."""

    executable: Path
    project_dir: Path
    #: ``profiles.yml``, and dbt's ``target/`` and ``logs/``
    work_dir: Path

    @classmethod
    def of(cls, loaded: LoadedConfig) -> DbtPaths:
        runtime = loaded.runtime_dir
        project = loaded.repo_root / "platform" / "transformation" / "dbt" / "project"
        return cls(executable=runtime / "venvs" / "dbt" / "bin" / "dbt", project_dir=project, work_dir=runtime / "dbt")


def dbt_environ(loaded: LoadedConfig, paths: DbtPaths, profile: Profile, environ: Mapping[str, str]) -> dict[str, str]:
    """The dbt process's environment: ``environ``, the profile's secrets, dbt's folders, the project's variables."""
    settings = loaded.settings
    return {
        **environ,
        **profile.secret_env,
        "DBT_PROJECT_DIR": str(paths.project_dir),
        "DBT_PROFILES_DIR": str(paths.work_dir),
        "DBT_TARGET_PATH": str(paths.work_dir / "target"),
        "DBT_LOG_PATH": str(paths.work_dir / "logs"),
        # no network beyond the platform's services: no usage tracking, no version check
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "SPARK_LOCAL_IP": environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        # read by dbt_project.yml's vars
        "DP_DBT_SILVER_NAMESPACE": settings.iceberg.namespaces.silver,
        "DP_DBT_DOMAIN": settings.demo.domain,
    }


def write_profile(profile: Profile, profiles_dir: Path) -> Path:
    """Write ``profiles.yml`` into ``profiles_dir`` (readable by its owner only); return its path."""
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(profile.render(), encoding="utf-8")
    return path


def run_dbt(loaded: LoadedConfig, profile: Profile, args: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run ``dbt <args>`` on ``profile``, its output going straight to this process's; return dbt's exit code."""
    paths = DbtPaths.of(loaded)
    if not paths.executable.is_file():
        raise TransformSetupError(f"no dbt environment at {paths.executable}: run `make install`")
    write_profile(profile, paths.work_dir)
    command = [str(paths.executable), *args]
    return subprocess.run(command, env=dbt_environ(loaded, paths, profile, environ), check=False).returncode
