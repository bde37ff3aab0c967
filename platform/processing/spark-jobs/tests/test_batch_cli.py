"""`dp batch run` refuses what it cannot do before any work starts (no Spark, no dbt): a Gold domain without
contracts, half a date range, a range that ends before it starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import find_repo_root

REPO = find_repo_root(Path(__file__))


def dp(*args: str, runtime: Path) -> int:
    environ = {"PATH": os.environ["PATH"], "DP_LOCAL_RUNTIME_DIR": str(runtime)}
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
