"""`dp contracts check`: lint every contract, and check every changed one against a baseline (git or registry)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dp_contracts.errors import ContractError
from dp_contracts.evolution import Change, check_change, fresh_id_violations
from dp_contracts.lint import Violation, lint
from dp_contracts.model import Contract

Baseline = Callable[[Contract], Contract | None]


@dataclass(frozen=True)
class GateResult:
    checked: int
    changed: list[str]
    new: list[str]
    violations: list[Violation]


def git_baseline(repo: Path, ref: str) -> Baseline:
    """The contract as it is at git ``ref`` (None when the file does not exist there)."""

    def baseline(contract: Contract) -> Contract | None:
        relative = contract.path.resolve().relative_to(repo.resolve())
        result = subprocess.run(
            ["git", "-C", str(repo), "show", f"{ref}:{relative.as_posix()}"],  # noqa: S607 -- git from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            if "exists on disk, but not in" in result.stderr or "does not exist in" in result.stderr:
                return None
            raise ContractError(f"git show {ref}:{relative}: {result.stderr.strip()}")
        try:
            schema = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise ContractError(f"{relative} at {ref} is not valid JSON: {exc}") from exc
        return Contract(name=contract.name, domain=contract.domain, path=contract.path, schema=schema)

    return baseline


def git_ref_exists(repo: Path, ref: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


def run_gate(contracts: list[Contract], baseline: Baseline | None) -> GateResult:
    """Lint all contracts; for each one that differs from its baseline, check the change."""
    violations: list[Violation] = []
    changed: list[str] = []
    new: list[str] = []
    for contract in contracts:
        problems = lint(contract)
        violations.extend(problems)
        if baseline is None or problems:
            continue
        before = baseline(contract)
        if before is None:
            new.append(contract.name)
            violations.extend(fresh_id_violations(contract))
            continue
        if before.schema == contract.schema:
            continue
        changed.append(contract.name)
        if before.meta.major != contract.meta.major:
            continue  # a new major version is a new topic and subject: nothing to stay compatible with
        violations.extend(check_change(Change(contract, [before])))
    return GateResult(len(contracts), changed, new, violations)
