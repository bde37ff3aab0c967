"""What each committed snapshot of a speed-layer job holds: its checkpoint id, the Kafka offsets and the watermark.

Flink's Iceberg sink writes the checkpoint id into each snapshot's summary (``flink.max-committed-checkpoint-id``)
but takes no per-commit properties, so the offsets and the watermark cannot go there. Each job therefore also
keeps a progress table (``<domain>__<job>_progress_rt``: one row per input partition with the offset of the last
record read, the records read, the newest event time and the watermark), committed by the same checkpoint as its
outputs. A snapshot of an output at checkpoint N holds exactly the input up to the progress table's offsets at
checkpoint N. This module pairs the two (pure: snapshot metadata in, pairs out); reading the progress rows needs
an engine that applies equality deletes (the jobs' environment uses Flink).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: snapshot-summary keys of Flink's Iceberg sink: the checkpoint a commit belongs to, the job run that made it
CHECKPOINT_ID_KEY = "flink.max-committed-checkpoint-id"
JOB_ID_KEY = "flink.job-id"


@dataclass(frozen=True)
class Commit:
    """One snapshot a job committed to one of its tables."""

    table: str
    snapshot_id: int
    committed_ms: int
    checkpoint_id: int
    job_id: str
    operation: str
    added_records: int
    deleted_records: int


def commits_of(table: str, snapshots: Iterable[tuple[int, int, Mapping[str, Any]]]) -> list[Commit]:
    """The snapshots a Flink job committed, oldest first, from ``(snapshot id, timestamp ms, summary)`` triples
    (snapshots without a checkpoint id, written by something else, are left out)."""
    out = []
    for snapshot_id, ms, summary in snapshots:

        def get(key: str, summary: Mapping[str, Any] = summary) -> str:
            value = summary.get(key)  # (pyiceberg's Summary.get ignores a default)
            return "" if value is None else str(getattr(value, "value", value))  # its operation is an enum

        if not get(CHECKPOINT_ID_KEY):
            continue
        added = int(get("added-records") or 0)
        deleted = int(get("added-equality-deletes") or 0) + int(get("added-position-deletes") or 0)
        operation, job = get("operation") or "append", get(JOB_ID_KEY)
        checkpoint = get(CHECKPOINT_ID_KEY)
        out.append(Commit(table, snapshot_id, ms, int(checkpoint), job, operation, added, deleted))
    return sorted(out, key=lambda c: (c.committed_ms, c.snapshot_id))


def commits_of_table(table: str, loaded: Any) -> list[Commit]:
    """:func:`commits_of` the snapshots of a loaded pyiceberg table (metadata only: fine with equality deletes)."""
    return commits_of(table, ((s.snapshot_id, s.timestamp_ms, s.summary or {}) for s in loaded.metadata.snapshots))


def progress_for(commit: Commit, progress: list[Commit]) -> Commit | None:
    """The progress snapshot that describes ``commit``: the one committed for the same checkpoint by the same job
    run (both are committed when checkpoint N completes), else the newest one committed before it for an earlier
    checkpoint (the progress did not change at N). None if the job recorded no progress before ``commit``."""
    same = [p for p in progress if p.checkpoint_id == commit.checkpoint_id and p.job_id == commit.job_id]
    if same:
        return min(same, key=lambda p: abs(p.committed_ms - commit.committed_ms))
    before = [p for p in progress if p.committed_ms <= commit.committed_ms and p.checkpoint_id < commit.checkpoint_id]
    return before[-1] if before else None


@dataclass(frozen=True)
class Checkpoint:
    """Everything one checkpoint committed: the outputs' snapshots and the progress snapshot describing them."""

    checkpoint_id: int
    committed_ms: int
    outputs: tuple[Commit, ...]
    progress: Commit | None


def checkpoints(outputs: list[Commit], progress: list[Commit], last: int) -> list[Checkpoint]:
    """The ``last`` newest checkpoints that committed anything, newest first, each with its progress snapshot."""
    groups: dict[tuple[str, int], list[Commit]] = {}
    for c in [*outputs, *progress]:
        groups.setdefault((c.job_id, c.checkpoint_id), []).append(c)
    newest = sorted(groups.values(), key=lambda cs: max(c.committed_ms for c in cs), reverse=True)[:last]
    out = []
    for group in newest:
        anchor = max(group, key=lambda c: c.committed_ms)
        own = tuple(sorted((c for c in group if c not in progress), key=lambda c: c.table))
        out.append(Checkpoint(anchor.checkpoint_id, anchor.committed_ms, own, progress_for(anchor, progress)))
    return out


def job_watermark(rows: Iterable[Mapping[str, Any]], event_topics: set[str]) -> tuple[dict[str, Any], Any]:
    """From progress rows (``kafka_topic``, ``watermark`` per partition): each topic's source watermark as of the
    last record it read (the greatest recorded: a source's watermark only rises), and the job's event-time
    watermark, the least of the event topics' (what windows and joins wait for; reference topics are left out, they
    fall idle). None where no watermark was recorded yet."""
    per_topic: dict[str, Any] = {}
    for row in rows:
        topic, value = str(row["kafka_topic"]), row["watermark"]
        if value is not None and (per_topic.get(topic) is None or value > per_topic[topic]):
            per_topic[topic] = value
        per_topic.setdefault(topic, None)
    events = [per_topic.get(t) for t in sorted(event_topics)]
    known = [v for v in events if v is not None]
    return per_topic, min(known) if known and len(known) == len(events) else None
