"""`dp contracts check --against git:REF` in a scratch repository: a breaking change is rejected, a compatible one
accepted, each violation printed with its field path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dp_contracts.model import contracts_dir
from dp_core.config import find_repo_root
from dp_localstack.testing import clean_environ, run_dp

REPO = find_repo_root(Path(__file__))
CONTRACT = contracts_dir(REPO) / "commerce" / "payment_processed.avsc"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the platform's config and one contract, committed."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    target = contracts_dir(tmp_path) / "commerce"
    target.mkdir(parents=True)
    shutil.copy(CONTRACT, target / CONTRACT.name)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    return tmp_path


def edit(repo: Path, mutate: Any) -> None:
    path = contracts_dir(repo) / "commerce" / CONTRACT.name
    schema = json.loads(path.read_text())
    mutate(schema)
    path.write_text(json.dumps(schema, indent=2))


def check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dp(repo, "contracts", "check", *args, env=clean_environ(), timeout=60)


def test_unchanged_contracts_pass(repo: Path) -> None:
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "1 contract(s) linted; against git:HEAD: 0 changed, 0 new; no violations" in result.stdout


def test_compatible_change_is_accepted(repo: Path) -> None:
    edit(
        repo,
        lambda s: s["fields"].append(
            {"name": "provider", "type": ["null", "string"], "default": None, "doc": "PSP name.", "field-id": 10}
        ),
    )
    result = check(repo)
    assert result.returncode == 0, result.stderr
    assert "1 changed, 0 new; no violations" in result.stdout


def test_breaking_change_is_rejected_with_field_paths(repo: Path) -> None:
    def breaking(schema: dict[str, Any]) -> None:
        amount = next(f for f in schema["fields"] if f["name"] == "amount")
        amount["type"] = {"type": "bytes", "logicalType": "decimal", "precision": 8, "scale": 2}
        schema["fields"].append({"name": "provider", "type": "string", "doc": "PSP name.", "field-id": 10})

    edit(repo, breaking)
    result = check(repo)
    assert result.returncode != 0
    assert "payment_processed: amount: decimal precision narrowed from 12 to 8 (field id 6) [iceberg-evolution]" in (
        result.stderr
    )
    assert "payment_processed: provider: new required field has no default" in result.stderr
    assert "[compatibility-BACKWARD]" in result.stderr and "provider" in result.stderr
    assert "Error: 1 contract(s) linted; against git:HEAD: 1 changed, 0 new; 3 violation(s)" in result.stderr


def test_breaking_change_committed_is_caught_against_an_older_ref(repo: Path) -> None:
    scale4 = {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 4}
    edit(repo, lambda s: next(f for f in s["fields"] if f["name"] == "amount").update(type=scale4))
    git(repo, "commit", "-q", "-am", "v2 breaks")
    assert check(repo).returncode == 0  # against HEAD, the broken version is its own baseline
    result = check(repo, "--against", "git:HEAD~1")
    assert result.returncode != 0
    assert "payment_processed: amount: decimal scale changed from 2 to 4 (field id 6) [iceberg-evolution]" in (
        result.stderr
    )


def test_a_new_major_version_is_a_new_subject(repo: Path) -> None:
    edit(repo, lambda s: s.update({"dp.major": 2, "fields": s["fields"][:3] + s["fields"][4:]}))
    result = check(repo)
    assert result.returncode == 0, result.stderr


def test_unknown_ref_and_bad_option_are_clear_errors(repo: Path) -> None:
    result = check(repo, "--against", "git:no-such-branch")
    assert result.returncode != 0 and "no such git revision" in result.stderr
    result = check(repo, "--against", "svn:1")
    assert result.returncode == 2 and "use git:<REF> or registry" in result.stderr


def test_lint_failure_is_reported_by_check(repo: Path) -> None:
    edit(repo, lambda s: s["fields"][0].pop("doc"))
    result = check(repo, "--lint-only")
    assert result.returncode != 0
    assert "payment_processed: event_id: field has no doc [docs]" in result.stderr
