"""Gold: the dbt project's build (``dp transform build``) as the batch layer's last step, reported per table.

Gold is dbt's (``platform/transformation/dbt``): this runs ``dbt build`` -- snapshots and models in dependency
order, each followed by its tests -- on the Silver tables of one contract domain, and reports each table it built
the way Bronze and Silver are reported (:class:`~dp_spark_jobs.summary.TableRun`): the snapshot it committed (none
when nothing was new), the rows that snapshot added and the seconds it took. What committed is read from the
catalog before and after, not from dbt: a model that rewrote nothing committed nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

from pyiceberg.catalog import Catalog

from dp_core.config import LoadedConfig
from dp_spark_jobs.catalog import CATALOG_ERRORS, lake_catalog
from dp_spark_jobs.errors import BatchJobFailed, SourceUnavailable
from dp_spark_jobs.summary import TableRun
from dp_transform.invocation import DateRange, dbt_args
from dp_transform.results import NodeResult, RunResults, RunResultsError, read_run_results
from dp_transform.runner import DbtPaths, run_on_settings

#: how many failed nodes an error names
NAMED_FAILURES = 5


@dataclass(frozen=True)
class GoldRun:
    """One build of Gold: a :class:`TableRun` per table dbt built (views left out), and its tests by status."""

    tables: list[TableRun]
    tests: dict[str, int] = field(default_factory=dict)


def gold_namespace(loaded: LoadedConfig) -> str:
    """Where dbt writes Gold: ``transform.namespace``, by default ``iceberg.namespaces.gold``."""
    settings = loaded.settings
    return settings.transform.namespace or settings.iceberg.namespaces.gold


def _snapshots(catalog: Catalog, namespace: str) -> dict[str, dict[int, Mapping[str, str]]]:
    """Per table of ``namespace``: its snapshots' ids with their summaries, oldest first."""
    found: dict[str, dict[int, Mapping[str, str]]] = {}
    for identifier in catalog.list_tables(namespace):
        table = catalog.load_table(identifier)
        found[identifier[-1]] = {
            s.snapshot_id: dict(s.summary.additional_properties) if s.summary is not None else {}
            for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
        }
    return found


def table_runs(
    results: RunResults,
    namespace: str,
    before: Mapping[str, Mapping[int, Mapping[str, str]]],
    after: Mapping[str, Mapping[int, Mapping[str, str]]],
) -> list[TableRun]:
    """A :class:`TableRun` per table a built node of ``results`` wrote in ``namespace`` (pure): the newest snapshot
    the build added (``None``: it committed nothing) and the records its snapshots added."""
    runs: list[TableRun] = []
    for node in results.built:
        name = node.name if node.relation is None else node.relation.replace("`", "").rsplit(".", 1)[-1]
        if name not in after:  # a view
            continue
        old = before.get(name, {})
        added = [sid for sid in after[name] if sid not in old]
        rows = sum(int(after[name][sid].get("added-records", 0)) for sid in added)
        runs.append(
            TableRun(
                layer="gold",
                table=f"{namespace}.{name}",
                rows_written=rows,
                snapshot_id=added[-1] if added else None,
                seconds=round(node.seconds, 3),
                details={"status": node.status},
            )
        )
    return runs


def _reason(message: str | None) -> str:
    """What a failed node's message says, in one line: its first line, and the engine's error class with its text
    when the message has one (``[UNRESOLVED_COLUMN...] A column ... cannot be resolved``)."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return "-"
    cause = next((m.group(0) for line in lines[1:] if (m := ERROR_CLASS.search(line))), None)
    return lines[0][:200] + (f": {cause[:300]}" if cause else "")


#: an engine error class and what follows it (Spark's ``[UNRESOLVED_COLUMN.WITH_SUGGESTION] ...``)
ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_.]+\].*")


def failure_message(code: int, results: RunResults | None, log: str) -> str:
    """What a failed build says: dbt's exit code, the first failed nodes with their reason, where dbt's log is."""
    named = ""
    if results is not None and results.failed:
        failed: tuple[NodeResult, ...] = results.failed
        parts = [f"{n.name} ({n.status}: {_reason(n.message)})" for n in failed[:NAMED_FAILURES]]
        more = f" and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
        named = f": {'; '.join(parts)}{more}"
    return (
        f"gold: dbt build failed (exit code {code}){named}; dbt's log: {log}. Each mart commits whole or not at all: "
        "fix the cause and rerun (a mart whose table predates its model: `dp transform run --full-refresh --select "
        "<mart>`)"
    )


def run(
    loaded: LoadedConfig,
    domain: str,
    *,
    dates: tuple[dt.date, dt.date] | None = None,
    environ: Mapping[str, str] | None = None,
    quiet: bool = False,
    stdout: IO[str] | None = None,
    catalog: Catalog | None = None,
) -> GoldRun:
    """``dbt build`` of the whole project on the Silver tables of ``domain``; ``dates`` (first, last day) also
    recomputes those days. dbt's output goes to this process's stdout (or ``stdout``); ``quiet`` keeps only its
    errors.

    Raises:
        BatchJobFailed: dbt failed (a model, or a test of severity error): the failed nodes are named.
        SourceUnavailable: the Iceberg catalog cannot be reached.
        TransformSetupError: dbt's environment is missing, or its Thrift server does not answer.
    """
    settings = loaded.settings
    catalog = catalog or lake_catalog(settings)
    namespace = gold_namespace(loaded)
    with _catalog_errors(namespace):
        catalog.create_namespace_if_not_exists(namespace)
        before = _snapshots(catalog, namespace)
    args = dbt_args(["build"], dates=DateRange(*dates) if dates else None)
    paths = DbtPaths.of(loaded)
    code = run_on_settings(
        loaded, settings.transform, ["--quiet", *args] if quiet else args,
        os.environ if environ is None else environ, domain, stdout,
    )  # fmt: skip
    if code != 0:
        try:
            failed: RunResults | None = read_run_results(paths.run_results)
        except RunResultsError:  # dbt ended before writing them
            failed = None
        raise BatchJobFailed(failure_message(code, failed, str(paths.log_file)))
    results = read_run_results(paths.run_results)
    with _catalog_errors(namespace):
        after = _snapshots(catalog, namespace)
    return GoldRun(table_runs(results, namespace, before, after), results.test_counts())


@contextlib.contextmanager
def _catalog_errors(namespace: str) -> Iterator[None]:
    """The catalog's failures as the batch layer's :class:`SourceUnavailable` (a transient error: rerun)."""
    try:
        yield
    except CATALOG_ERRORS as exc:
        raise SourceUnavailable(f"gold: the Iceberg catalog failed on {namespace}: {exc}") from exc
