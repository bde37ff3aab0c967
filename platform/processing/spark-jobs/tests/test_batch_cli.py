"""`dp batch run` refuses what it cannot do before any work starts (no Spark, no dbt): a Gold domain without
contracts, half a date range, a range that ends before it starts, no dbt environment, a Thrift server that does not
answer."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import find_repo_root

REPO = find_repo_root(Path(__file__))


def dp(*args: str, runtime: Path, **env: str) -> int:
    environ = {"PATH": os.environ["PATH"], "DP_LOCAL_RUNTIME_DIR": str(runtime), **env}
    return main(list(args), context=CliContext(environ=environ, cwd=REPO))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gold", "--domain", "comerce"], "no contracts of domain 'comerce'"),
        (["all", "--domain", "comerce"], "no contracts of domain 'comerce'"),
        (["gold", "--from", "2026-12-01"], "give --from and --to together"),
        (["gold", "--from", "2026-12-02", "--to", "2026-12-01"], "the range starts after it ends"),
    ],
)
def test_bad_gold_options_fail_before_any_work(
    args: list[str], message: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = dp("batch", "run", *args, runtime=tmp_path)
    err = capfd.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
    assert not (tmp_path / "dbt").exists()  # dbt never ran: it would have written its profile there


def test_gold_without_dbt_or_its_server_fails_before_bronze_and_silver(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert dp("batch", "run", "all", runtime=tmp_path) != 0
    err = capfd.readouterr().err
    assert "the dbt environment is missing" in err and "make install" in err and "Traceback" not in err

    dbt = tmp_path / "venvs" / "dbt" / "bin" / "dbt"
    dbt.parent.mkdir(parents=True)
    dbt.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    dbt.chmod(0o755)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = dp("batch", "run", "all", runtime=tmp_path, DP_TRANSFORM_TARGET="thrift",
              DP_TRANSFORM_THRIFT__HOST="127.0.0.1", DP_TRANSFORM_THRIFT__PORT=str(port))  # fmt: skip
    err = capfd.readouterr().err
    assert code != 0 and f"127.0.0.1:{port} does not answer" in err and "Traceback" not in err
    assert not (tmp_path / "dbt").exists()  # dbt never ran
