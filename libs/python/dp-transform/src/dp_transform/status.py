"""Gold's marts as the catalog has them: current snapshot and watermark (``dp transform status``), and which of
them break a freshness SLA (a pure check on those states)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dp_core.config import LoadedConfig
from dp_lakehouse.tables import WATERMARK_KEY


@dataclass(frozen=True)
class MartState:
    table: str
    snapshot_id: int | None
    committed_at: dt.datetime | None
    watermark: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in asdict(self).items()}


def parse_watermark(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def stale_marts(states: Iterable[MartState], now: dt.datetime, max_lag_s: float) -> list[str]:
    """Why each mart that breaks the SLA does: not built, or a watermark older than ``max_lag_s``. A mart without a
    watermark (the dimensions: versions of reference data, not events) is not held to it."""
    problems = []
    for state in states:
        if state.snapshot_id is None:
            problems.append(f"{state.table}: not built")
        elif state.watermark is None:
            continue
        elif (now - state.watermark).total_seconds() > max_lag_s:
            problems.append(f"{state.table}: watermark {state.watermark.isoformat()} is {now - state.watermark} old")
    return problems


def mart_states(loaded: LoadedConfig, namespace: str, marts: Sequence[str]) -> list[MartState]:
    """The current state of each mart ``namespace.<mart>`` (a missing table: no snapshot)."""
    from pyiceberg.exceptions import NoSuchTableError

    from dp_lakehouse.pyiceberg import lake_catalog

    catalog = lake_catalog(loaded.settings)
    states = []
    for mart in marts:
        identifier = f"{namespace}.{mart}"
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            states.append(MartState(identifier, None, None, None))
            continue
        snapshot = table.current_snapshot()
        committed = dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.UTC) if snapshot else None
        states.append(
            MartState(
                identifier,
                snapshot.snapshot_id if snapshot else None,
                committed,
                parse_watermark(table.properties.get(WATERMARK_KEY)),
            )
        )
    return states
