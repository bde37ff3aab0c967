"""What a job run reports: per table, rows read / written / rejected / duplicates dropped, the snapshot, seconds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TableRun:
    """One table's part of a job run."""

    layer: str
    table: str
    rows_read: int = 0
    rows_written: int = 0
    rejected: int = 0
    duplicates_dropped: int = 0
    snapshot_id: int | None = None  # None: nothing committed (no new data)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
