"""`dp transform` through the root `dp` entry point, in process, with a stand-in dbt in a runtime folder of the
test's own: the dbt command line each command and option builds, the profile and environment dbt gets, dbt's output
passed through, exit codes and messages.

`dp_core.cli.main.main` is called rather than click's CliRunner: the messages and exit codes of errors come from its
one translator, and dbt's output goes to the process's file descriptors, which only ``capfd`` sees."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import find_repo_root
from dp_transform.runner import needs_connection

REPO = find_repo_root(Path(__file__))

#: A stand-in for `dbt`: records its arguments and environment as JSON, says so on stdout, exits with a chosen code
#: (or sends itself a chosen signal).
FAKE_DBT = """#!{python}
import json, os, signal, sys
with open({record!r}, "w", encoding="utf-8") as file:
    json.dump({{"argv": sys.argv[1:], "env": dict(os.environ)}}, file)
print("fake dbt ran: " + " ".join(sys.argv[1:]), flush=True)
if {signal_number}:
    os.kill(os.getpid(), {signal_number})
sys.exit({code})
"""


@dataclass
class FakeDbt:
    """The stand-in dbt of one runtime folder."""

    runtime: Path
    record: Path

    @property
    def executable(self) -> Path:
        return self.runtime / "venvs" / "dbt" / "bin" / "dbt"

    def install(self, code: int = 0, signal_number: int = 0) -> None:
        """(Re)write the stand-in so that it exits with ``code`` (or is killed by ``signal_number``)."""
        self.executable.parent.mkdir(parents=True, exist_ok=True)
        self.executable.write_text(
            FAKE_DBT.format(python=sys.executable, record=str(self.record), code=code, signal_number=signal_number),
            encoding="utf-8",
        )
        self.executable.chmod(0o755)

    def ran(self) -> bool:
        return self.record.is_file()

    def call(self) -> dict[str, Any]:
        """The arguments (``argv``) and the environment (``env``) of the last run."""
        recorded: dict[str, Any] = json.loads(self.record.read_text(encoding="utf-8"))
        return recorded


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    """A runtime folder with the Spark jars the session profile names (empty stand-ins) and no dbt environment."""
    folder = tmp_path / "runtime"
    (folder / "jars" / "spark").mkdir(parents=True)
    (folder / "jars" / "spark" / "iceberg-spark-runtime.jar").touch()
    return folder


@pytest.fixture
def fake_dbt(runtime: Path, tmp_path: Path) -> FakeDbt:
    """A stand-in dbt installed in ``runtime`` (exit code 0 until reinstalled)."""
    fake = FakeDbt(runtime, tmp_path / "dbt-call.json")
    fake.install()
    return fake


Dp = Callable[..., int]


@pytest.fixture
def dp(runtime: Path) -> Dp:
    """Run `dp ARGS` in process from the repository, with only PATH, the runtime folder and ``env`` as its
    environment (``cwd`` to run from another checkout)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> int:
        # the session target: the local profile's thrift target needs its server (tested on its own below)
        environ = {
            "PATH": os.environ["PATH"],
            "DP_LOCAL_RUNTIME_DIR": str(runtime),
            "DP_TRANSFORM_TARGET": "session",
            **(env or {}),
        }
        return main(list(args), context=CliContext(environ=environ, cwd=cwd))

    return run


@contextlib.contextmanager
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections while the block runs (a stand-in Thrift server's)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


PROJECT = REPO / "platform" / "transformation" / "dbt" / "project"
MAY = json.dumps({"from_date": "2024-05-01", "to_date": "2024-05-31"})


def profile_output(runtime: Path) -> dict[str, object]:
    """The one output of the profiles.yml the last command wrote."""
    document = yaml.safe_load((runtime / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
    profile = document["dtheinfra"]
    output: dict[str, object] = profile["outputs"][profile["target"]]
    return output


def test_transform_is_a_dp_command_with_its_verbs(dp: Dp, capfd: pytest.CaptureFixture[str]) -> None:
    assert dp("--help") == 0
    assert "transform" in capfd.readouterr().out.split("Commands:")[1].split()
    assert dp("transform", "--help") == 0
    out = capfd.readouterr().out
    assert out.startswith("Usage: dp transform [OPTIONS] COMMAND [ARGS]...")
    verbs = [line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()]
    assert verbs == ["build", "dbt", "docs", "freshness", "run", "sources", "status", "test"]


@pytest.mark.parametrize(
    ("args", "dbt_argv"),
    [
        (["build"], ["build"]),
        (
            ["build", "-s", "stg_orders", "--select", "+fct_orders", "--exclude", "tag:slow", "--full-refresh"],
            ["build", "--select", "stg_orders", "+fct_orders", "--exclude", "tag:slow", "--full-refresh"],
        ),
        (["build", "--from", "2024-05-01", "--to", "2024-05-31"], ["build", "--vars", MAY]),
        (["run"], ["run"]),
        (
            ["run", "--full-refresh", "--to", "2024-05-31", "--from", "2024-05-01", "-s", "fct_orders"],
            ["run", "--select", "fct_orders", "--full-refresh", "--vars", MAY],
        ),
        (
            ["run", "--from", "2024-05-03", "--to", "2024-05-03"],
            ["run", "--vars", json.dumps({"from_date": "2024-05-03", "to_date": "2024-05-03"})],
        ),
        (["test"], ["test"]),
        (
            ["test", "-s", "fct_orders", "--exclude", "stg_orders"],
            ["test", "--select", "fct_orders", "--exclude", "stg_orders"],
        ),
        (["freshness"], ["source", "freshness"]),
        (
            ["freshness", "-s", "source:silver.order_placed"],
            ["source", "freshness", "--select", "source:silver.order_placed"],
        ),
        (["dbt", "parse", "--no-partial-parse"], ["parse", "--no-partial-parse"]),
        (["dbt", "--namespace", "dbt_proto", "ls", "--select", "x"], ["ls", "--select", "x"]),
    ],
)
def test_each_command_builds_its_dbt_command_line(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str], args: list[str], dbt_argv: list[str]
) -> None:
    assert dp("transform", *args) == 0
    assert fake_dbt.call()["argv"] == dbt_argv
    captured = capfd.readouterr()
    assert f"fake dbt ran: {' '.join(dbt_argv)}\n" in captured.out  # dbt's own output, passed through
    assert captured.err == ""


def test_docs_go_into_the_runtime_folder_and_the_command_says_where(
    dp: Dp, fake_dbt: FakeDbt, runtime: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert dp("transform", "docs") == 0
    docs = runtime / "dbt" / "docs"
    assert fake_dbt.call()["argv"] == ["docs", "generate", "--target-path", str(docs)]
    out = capfd.readouterr().out
    assert out.endswith(f"dbt's docs site: {docs / 'index.html'}\n")


def test_dbt_runs_on_the_project_with_its_folders_secrets_and_domain_in_its_environment(
    dp: Dp, fake_dbt: FakeDbt, runtime: Path
) -> None:
    assert dp("transform", "build", env={"DP_STORAGE_SECRET_ACCESS_KEY": "sk-90ab"}) == 0
    env = fake_dbt.call()["env"]
    assert env["DBT_PROJECT_DIR"] == str(PROJECT)
    assert env["DBT_PROFILES_DIR"] == str(runtime / "dbt")
    assert env["DBT_TARGET_PATH"] == str(runtime / "dbt" / "target")
    assert env["DBT_LOG_PATH"] == str(runtime / "dbt" / "logs")
    assert (env["DBT_SEND_ANONYMOUS_USAGE_STATS"], env["DBT_VERSION_CHECK"]) == ("false", "false")
    assert env["DTHEINFRA_DBT_DOMAIN"] == "commerce"
    assert env["DBT_ENV_SECRET_SPARK_SQL_CATALOG_LAKE_S3_SECRET_ACCESS_KEY"] == "sk-90ab"
    profiles = (runtime / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert "sk-90ab" not in profiles
    output = profile_output(runtime)
    assert (output["method"], output["schema"]) == ("session", "gold")


def test_the_domain_comes_from_demo_domain_or_the_option_and_must_have_contracts(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str]
) -> None:
    assert dp("transform", "run", "--domain", "commerce") == 0
    assert fake_dbt.call()["env"]["DTHEINFRA_DBT_DOMAIN"] == "commerce"
    fake_dbt.record.unlink()
    capfd.readouterr()
    assert dp("transform", "run", env={"DP_DEMO_DOMAIN": "shop"}) == 1
    err = capfd.readouterr().err
    assert err.startswith("Error: no contracts of domain 'shop' under ")
    assert "(--domain or demo.domain; there: commerce)" in err
    assert not fake_dbt.ran()


def test_namespace_and_target_options_override_the_config(
    dp: Dp, fake_dbt: FakeDbt, runtime: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert dp("transform", "run", env={"DP_TRANSFORM_NAMESPACE": "gold_cfg"}) == 0
    assert profile_output(runtime)["schema"] == "gold_cfg"
    assert dp("transform", "run", "--namespace", "gold_cli", env={"DP_TRANSFORM_NAMESPACE": "gold_cfg"}) == 0
    assert profile_output(runtime)["schema"] == "gold_cli"
    with listening() as port:
        thrift = {"DP_TRANSFORM_THRIFT__HOST": "127.0.0.1", "DP_TRANSFORM_THRIFT__PASSWORD": "pw-c2d9"}
        thrift |= {"DP_TRANSFORM_THRIFT__AUTH": "LDAP", "DP_TRANSFORM_THRIFT__PORT": str(port)}
        assert dp("transform", "test", "--target", "thrift", env=thrift) == 0
    output = profile_output(runtime)
    assert (output["method"], output["host"], output["port"], output["auth"]) == ("thrift", "127.0.0.1", port, "LDAP")
    assert "pw-c2d9" not in (runtime / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert fake_dbt.call()["env"]["DBT_ENV_SECRET_TRANSFORM_THRIFT_PASSWORD"] == "pw-c2d9"
    assert dp("transform", "test", "--target", "session", env={"DP_TRANSFORM_TARGET": "thrift"}) == 0
    assert profile_output(runtime)["method"] == "session"
    assert capfd.readouterr().err == ""


def test_the_thrift_target_without_a_host_fails_before_dbt_runs(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str]
) -> None:
    assert dp("transform", "build", "--target", "thrift", env={"DP_TRANSFORM_THRIFT__HOST": ""}) == 1
    assert capfd.readouterr().err == "Error: transform.target is thrift but transform.thrift.host is not set\n"
    assert not fake_dbt.ran()


def test_the_local_thrift_target_says_how_to_start_its_server_and_dbt_does_not_run(
    dp: Dp, fake_dbt: FakeDbt, runtime: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with listening() as port:
        pass  # a port nothing listens on any more
    local = {"DP_TRANSFORM_TARGET": "thrift", "DP_TRANSFORM_THRIFT__PORT": str(port)}
    assert dp("transform", "build", env=local) == 1
    err = capfd.readouterr().err
    assert err.startswith(f"Error: the Spark Thrift server at 127.0.0.1:{port} does not answer (Connection refused)")
    assert "`make local-up-core`" in err and "`--target session`" in err
    assert not fake_dbt.ran()
    # what opens no connection runs without the server
    assert dp("transform", "dbt", "parse", env=local) == 0
    assert fake_dbt.call()["argv"] == ["parse"]
    # with the server listening, dbt runs on the local profile: the thrift method
    with listening() as port:
        assert dp("transform", "build", env={**local, "DP_TRANSFORM_THRIFT__PORT": str(port)}) == 0
    assert fake_dbt.call()["argv"][0] == "build"
    assert (profile_output(runtime)["method"], profile_output(runtime)["port"]) == ("thrift", port)


@pytest.mark.parametrize(
    ("code", "summary"),
    [
        (1, "Error: dbt build failed: a model, test or freshness check failed (exit code 1; dbt's output is above)"),
        (
            2,
            "Error: dbt build could not run: a project, profile or connection error "
            "(exit code 2; dbt's output is above)",
        ),
        (3, "Error: dbt build failed (exit code 3; dbt's output is above)"),
    ],
)
def test_a_dbt_failure_exits_with_dbts_code_and_one_line(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str], code: int, summary: str
) -> None:
    fake_dbt.install(code=code)
    assert dp("transform", "build", "-s", "fct_orders") == code
    captured = capfd.readouterr()
    assert "fake dbt ran: build --select fct_orders\n" in captured.out
    assert captured.err == summary + "\n"


def test_freshness_failure_names_the_dbt_command(dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str]) -> None:
    fake_dbt.install(code=1)
    assert dp("transform", "freshness") == 1
    assert capfd.readouterr().err.startswith("Error: dbt source freshness failed: ")


def test_dbt_killed_by_a_signal_exits_like_a_shell(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str]
) -> None:
    fake_dbt.install(signal_number=int(signal.SIGTERM))
    assert dp("transform", "run") == 128 + int(signal.SIGTERM)
    assert capfd.readouterr().err == (
        f"Error: dbt run was killed by signal {int(signal.SIGTERM)} (exit code {-int(signal.SIGTERM)}; "
        "dbt's output is above)\n"
    )


@pytest.mark.parametrize("args", [["build"], ["run"], ["test"], ["freshness"], ["docs"], ["dbt", "debug"]])
def test_without_the_dbt_environment_every_dbt_command_says_make_install(
    dp: Dp, runtime: Path, capfd: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert dp("transform", *args) == 1
    captured = capfd.readouterr()
    dbt = runtime / "venvs" / "dbt" / "bin" / "dbt"
    assert captured.err == f"Error: the dbt environment is missing ({dbt}): run `make install`\n"
    assert captured.out == ""
    assert not (runtime / "dbt" / "profiles.yml").exists()


def test_a_dbt_that_cannot_start_says_make_install(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str]
) -> None:
    fake_dbt.executable.chmod(0o644)
    assert dp("transform", "run") == 1
    err = capfd.readouterr().err
    assert err.startswith(f"Error: cannot start {fake_dbt.executable} (Permission denied): run `make install`")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--from", "2024-05-01"], "Error: --from and --to go together: give both days of the range"),
        (["run", "--to", "2024-05-01"], "Error: --from and --to go together: give both days of the range"),
        (
            ["run", "--from", "2024-05-02", "--to", "2024-05-01"],
            "Error: Invalid value for '--from' / '--to': the range starts after it ends (2024-05-02 > 2024-05-01)",
        ),
        (["build", "--from", "01/05/2024", "--to", "2024-05-31"], "Error: Invalid value for '--from': '01/05/2024'"),
        (["build", "--namespace", "Gold-NS"], "Error: Invalid value for '--namespace': 'Gold-NS': String should match"),
        (["test", "--full-refresh"], "Error: No such option '--full-refresh'."),
        (["test", "--from", "2024-05-01"], "Error: No such option '--from'."),
        (["build", "--target", "emr"], "Error: Invalid value for '--target': 'emr' is not one of 'session', 'thrift'."),
    ],
)
def test_bad_options_are_usage_errors_and_dbt_does_not_run(
    dp: Dp, fake_dbt: FakeDbt, capfd: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert dp("transform", *args) == 2
    err = capfd.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not fake_dbt.ran()


@pytest.mark.parametrize(
    ("args", "connects"),
    [
        (["build"], True),
        (["--quiet", "run", "--select", "x"], True),
        (["parse"], False),
        (["--quiet", "parse"], False),
        (["ls", "--select", "x"], False),
        (["run", "--help"], False),
        (["--version"], False),
        ([], True),
    ],
)
def test_only_dbt_commands_that_connect_need_the_thrift_server(args: list[str], connects: bool) -> None:
    assert needs_connection(args) is connects
