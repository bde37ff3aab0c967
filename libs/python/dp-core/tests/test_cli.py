"""The `dp` CLI as users run it: real subprocesses for exit codes and output, in-process for the rest."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import find_repo_root
from dp_localstack.testing import DP, clean_environ, run_command

REPO = find_repo_root(Path(__file__))
Writer = Callable[[Path, str], Path]


def run_dp(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``dp args`` as a user runs it: no ``DP_*`` variables but ``env``."""
    return run_command([DP, *args], cwd, clean_environ() | (env or {}), timeout=60)


def test_env_override_is_shown_with_its_source() -> None:
    result = run_dp("config", "show", env={"DP_KAFKA_BOOTSTRAP_SERVERS": "kafka.dev:9092"})
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("kafka.bootstrap_servers"))
    assert '"kafka.dev:9092"' in line and "# env DP_KAFKA_BOOTSTRAP_SERVERS" in line


def test_prod_environment_shows_prod_overrides() -> None:
    result = run_dp("config", "show", "--json", env={"DP_ENV": "prod"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["env"] == "prod"
    assert shown["config"]["kafka"]["security_protocol"] == "SASL_SSL"
    assert shown["sources"]["kafka.security_protocol"] == "config/environments/prod.yaml"


def test_unknown_section_variable_fails_without_traceback() -> None:
    result = run_dp("config", "show", env={"DP_KAFAK_BOOTSTRAP_SERVERS": "x"})
    assert result.returncode == 2
    assert result.stderr.startswith("Error: invalid configuration: DP_KAFAK_BOOTSTRAP_SERVERS")
    assert "Traceback" not in result.stderr


def test_yaml_typo_fails_naming_the_key(tmp_path: Path, write: Writer) -> None:
    write(tmp_path / "config" / "base" / "kafka.yaml", "kafka:\n  bootstrap_sevrers: x\n")
    write(tmp_path / "config" / "environments" / "local.yaml", "")
    result = run_dp("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "kafka.bootstrap_sevrers: unknown key in config/base/kafka.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback() -> None:
    result = run_dp("--debug", "config", "show", env={"DP_KAFAK_X": "x"})
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_secrets_are_redacted_in_text_and_json() -> None:
    secret = "do-not-print-me"
    env = {"DP_STORAGE_SECRET_ACCESS_KEY": secret, "DP_KAFKA_SASL_PASSWORD": secret}
    for args in (("config", "show"), ("config", "show", "--json")):
        result = run_dp(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
        assert "********" in result.stdout


def test_validate_reports_every_environment(tmp_path: Path, write: Writer) -> None:
    write(tmp_path / "config" / "base" / "kafka.yaml", "kafka:\n  client_id: x\n")
    write(tmp_path / "config" / "environments" / "good.yaml", "")
    write(tmp_path / "config" / "environments" / "bad1.yaml", "kafka:\n  nope: 1\n")
    write(tmp_path / "config" / "environments" / "bad2.yaml", "logging:\n  level: LOUD\n")
    result = run_dp("config", "validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "good: ok" in result.stdout
    assert "bad1: FAIL" in result.stderr and "kafka.nope: unknown key" in result.stderr
    assert "bad2: FAIL" in result.stderr and "logging.level" in result.stderr
    assert "2 environment(s) invalid: bad1, bad2" in result.stderr


def test_validate_passes_on_the_repo_config() -> None:
    result = run_dp("config", "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "dev:",
        "ok",
        "docker:",
        "ok",
        "local:",
        "ok",
        "prod:",
        "ok",
        "staging:",
        "ok",
    ]


def test_every_group_has_help() -> None:
    for args in ((), ("config",), ("config", "show"), ("config", "validate")):
        result = run_dp(*args, "--help")
        assert result.returncode == 0 and "Usage: dp" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run_dp("nosuch")
    assert result.returncode == 2
    assert "No such command 'nosuch'" in result.stderr


def test_missing_config_dir_is_a_clear_error(tmp_path: Path) -> None:
    result = run_dp("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "no config/base folder found" in result.stderr


def test_in_process_context_isolated_from_os_environ(capsys: pytest.CaptureFixture[str]) -> None:
    ctx = CliContext(environ={"DP_REGISTRY_URL": "http://reg:1"}, cwd=REPO)
    assert main(["config", "show", "--json"], context=ctx) == 0
    assert json.loads(capsys.readouterr().out)["config"]["registry"]["url"] == "http://reg:1"


def test_settings_are_built_once_per_environment() -> None:
    ctx = CliContext(environ={}, cwd=REPO)
    assert ctx.load() is ctx.load()
    assert ctx.load("prod") is not ctx.load()
