"""What a dbt invocation did, read from its ``target/run_results.json`` (pure: text in, records out).

dbt writes one result per node it ran -- model, snapshot, seed, data test, unit test -- with its status
(``success``/``error``/``skipped`` for what builds, ``pass``/``warn``/``fail``/``error``/``skipped`` for tests), its
time, the relation it wrote and the SQL it ran. The batch layer reports Gold from it, and the batch benchmark re-runs a
model's compiled SQL without dbt.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dp_transform.errors import TransformError

#: node types that write a relation
BUILT = frozenset({"model", "snapshot", "seed"})
#: node types that check one
TESTS = frozenset({"test", "unit_test"})
#: statuses of a node that did not do its job
FAILED = frozenset({"error", "fail"})


class RunResultsError(TransformError):
    """``run_results.json`` is missing or is not what dbt writes."""


@dataclass(frozen=True)
class NodeResult:
    """One node's result.

    Attributes:
        unique_id: dbt's id (``model.dtheinfra_gold.fct_orders``, ``test.dtheinfra_gold.not_null_...``).
        status: dbt's status of the node.
        seconds: its execution time.
        message: dbt's message (an error's text for a failed node).
        failures: rows a test found (``None`` for what is not a test).
        relation: the relation a model wrote (``gold.fct_orders``), ``None`` for tests.
        compiled_code: the SQL dbt ran for it (a model's select), when dbt kept it.
    """

    unique_id: str
    status: str
    seconds: float
    message: str | None = None
    failures: int | None = None
    relation: str | None = None
    compiled_code: str | None = None

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.unique_id.rsplit(".", 1)[-1]

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True)
class RunResults:
    """Every node's result of one dbt invocation, in the order dbt finished them."""

    command: str
    nodes: tuple[NodeResult, ...]
    elapsed_s: float

    @property
    def built(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.resource_type in BUILT)

    @property
    def tests(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.resource_type in TESTS)

    @property
    def failed(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.failed)

    def test_counts(self) -> dict[str, int]:
        """Tests by status: ``{"pass": 120, "warn": 2}``."""
        return dict(Counter(n.status for n in self.tests))


def parse_run_results(text: str) -> RunResults:
    """The results in the text of a ``run_results.json``.

    Raises:
        RunResultsError: the text is not JSON, or not dbt's shape.
    """
    try:
        data: Any = json.loads(text)
        nodes = tuple(
            NodeResult(
                unique_id=str(r["unique_id"]),
                status=str(r["status"]),
                seconds=float(r.get("execution_time") or 0.0),
                message=r.get("message"),
                failures=r.get("failures"),
                relation=r.get("relation_name"),
                compiled_code=r.get("compiled_code"),
            )
            for r in data["results"]
        )
        return RunResults(str(data.get("args", {}).get("which", "")), nodes, float(data.get("elapsed_time") or 0.0))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunResultsError(f"not dbt's run results ({type(exc).__name__}: {exc})") from exc


def read_run_results(path: Path) -> RunResults:
    """:func:`parse_run_results` of the file at ``path``.

    Raises:
        RunResultsError: the file is missing (dbt ended before writing it) or unreadable.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunResultsError(f"dbt wrote no run results at {path} ({exc.strerror})") from exc
    return parse_run_results(text)
