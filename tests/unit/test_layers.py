"""The layer rules (import-linter contracts in pyproject.toml) hold, and breaking one fails `make import-lint`.

Each breaking case copies one package of the repository into a temporary folder placed first on PYTHONPATH, adds
one module with a forbidden import to the copy, and runs the same `lint-imports` as `make lint`: the contract
that the import breaks must be reported broken and the command must exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dp_core.config import find_repo_root

REPO = find_repo_root(Path(__file__))
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
#: units with environments of their own (not installed in the main one): on PYTHONPATH, as `make import-lint` does
OWN_ENV_SRC = (REPO / "platform" / "processing" / "flink-jobs" / "src",)


def lint_imports(*first_on_path: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(str(p) for p in (*first_on_path, *OWN_ENV_SRC))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def with_extra_module(tmp_path: Path, package_src: Path, module: str, body: str) -> Path:
    """A copy of one package with one more module in it; returns the folder to put first on PYTHONPATH."""
    copy = tmp_path / "src"
    shutil.copytree(package_src, copy / package_src.name, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / package_src.name / f"{module}.py").write_text(body, encoding="utf-8")
    return copy


def test_the_repository_keeps_every_layer_contract() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("package_src", "forbidden_import", "contract"),
    [
        (
            REPO / "libs" / "python" / "dp-core" / "src" / "dp_core",
            "import dp_demo.cli",
            "Libraries never import a platform unit",
        ),
        (
            REPO / "platform" / "schema-registry" / "src" / "dp_schema_registry",
            "import dp_stream_ingestors.cli",
            "Platform units do not import each other",
        ),
        (
            REPO / "libs" / "python" / "dp-contracts" / "src" / "dp_contracts",
            "import pyspark.sql",
            "PySpark only in the Spark jobs and dp_spark.session",
        ),
        (
            REPO / "libs" / "python" / "dp-lakehouse" / "src" / "dp_lakehouse",
            "import confluent_kafka",
            "The Kafka client only in dp-ingest",
        ),
    ],
    ids=["lib-imports-unit", "unit-imports-unit", "pyspark-outside-spark", "kafka-outside-adapters"],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, package_src: Path, forbidden_import: str, contract: str
) -> None:
    shadow = with_extra_module(tmp_path, package_src, "layer_violation", f"{forbidden_import}  # noqa\n")
    result = lint_imports(shadow)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN") or "BROKEN" in line]
    assert broken, result.stdout
    assert contract.split("(")[0].strip()[:40] in result.stdout.replace("\n", " "), result.stdout
    assert f"{package_src.name}.layer_violation" in result.stdout, result.stdout
