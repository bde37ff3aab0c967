"""`dp contracts register` and `dp contracts check --against registry` on the real schema registry of the stack,
driven through Confluent's client."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from dp_contracts.model import contracts_dir, load_contracts
from dp_core.config import LoadedConfig
from dp_localstack.stack import LocalStack
from dp_localstack.testing import clean_environ, run_dp

pytestmark = pytest.mark.integration


def dp(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``dp args`` in ``cwd`` with no ``DP_*`` variables but ``env``."""
    return run_dp(cwd, *args, env=clean_environ() | (env or {}), timeout=120)


@pytest.fixture(scope="module")
def client(local_stack: LocalStack, platform_config: LoadedConfig) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": platform_config.settings.registry.url})


def test_register_is_idempotent_and_sets_each_subjects_mode(client: SchemaRegistryClient, repo_root: Path) -> None:
    first, second = dp(repo_root, "contracts", "register"), dp(repo_root, "contracts", "register")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout  # same ids, same versions
    contracts = load_contracts(contracts_dir(repo_root))
    assert len(first.stdout.splitlines()) == len(contracts) == 6
    for contract in contracts:
        latest = client.get_latest_version(contract.subject)
        assert json.loads(latest.schema.schema_str or "null") == contract.schema
        assert client.get_compatibility(contract.subject) == contract.meta.compatibility.value
        assert f"{contract.subject}" in first.stdout


@pytest.fixture
def scratch(tmp_path: Path, run_id: str, repo_root: Path) -> Path:
    """A checkout with one contract in a domain of its own, so its subject is unique to this run."""
    shutil.copytree(repo_root / "config", tmp_path / "config")
    target = contracts_dir(tmp_path) / f"it{run_id}"
    target.mkdir(parents=True)
    shutil.copy(contracts_dir(repo_root) / "commerce" / "payment_processed.avsc", target)
    return tmp_path


def edit(repo: Path, mutate: Any) -> None:
    [path] = list((contracts_dir(repo)).glob("*/payment_processed.avsc"))
    schema = json.loads(path.read_text())
    mutate(schema)
    path.write_text(json.dumps(schema))


def test_check_against_registry(scratch: Path, client: SchemaRegistryClient, run_id: str) -> None:
    registered = dp(scratch, "contracts", "register")
    assert registered.returncode == 0, registered.stderr
    assert f"it{run_id}.payment_processed.v1-value" in registered.stdout

    unchanged = dp(scratch, "contracts", "check", "--against", "registry")
    assert unchanged.returncode == 0, unchanged.stderr
    assert "against registry: 0 changed, 0 new; no violations" in unchanged.stdout

    edit(
        scratch,
        lambda s: s["fields"].append(
            {"name": "provider", "type": ["null", "string"], "default": None, "doc": "PSP.", "field-id": 10}
        ),
    )
    compatible = dp(scratch, "contracts", "check", "--against", "registry")
    assert compatible.returncode == 0, compatible.stderr
    assert "1 changed, 0 new; no violations" in compatible.stdout

    edit(scratch, lambda s: s["fields"].append({"name": "psp_ref", "type": "string", "doc": "Ref.", "field-id": 11}))
    breaking = dp(scratch, "contracts", "check", "--against", "registry")
    assert breaking.returncode != 0
    assert "payment_processed: psp_ref: new required field has no default" in breaking.stderr
    assert "[compatibility-BACKWARD]" in breaking.stderr
    # the registry itself agrees, and refuses to register it
    refused = dp(scratch, "contracts", "register")
    assert refused.returncode != 0
    assert "409" in refused.stderr


def test_registry_down_is_a_clear_error(scratch: Path) -> None:
    result = dp(scratch, "contracts", "register", env={"DP_REGISTRY_URL": "http://127.0.0.1:9"})
    assert result.returncode != 0
    assert "schema registry at http://127.0.0.1:9 unreachable" in result.stderr
    assert "Traceback" not in result.stderr
