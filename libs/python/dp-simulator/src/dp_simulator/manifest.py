"""The manifest of a run: per contract, what was sent, by kind, with ids, so every layer downstream reconciles exactly.

Per contract: ``sent`` = ``valid_unique`` + ``duplicates`` + ``malformed`` + ``updates`` (new versions of a product
already sent: :attr:`SimulationConfig.recategorised`, no more than it asks; valid, held by Bronze, one row of Silver's
latest table with the first); ``late`` events are valid and unique,
so they are counted in ``valid_unique`` too and their ids are in ``valid_ids`` as well as ``late_ids``. Every id in
``valid_ids`` is to be found exactly once in Silver; duplicates and malformed events never (malformed ones are in the
dead-letter topic, found by ``seq``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dp_simulator.model import CONTRACTS, ID_FIELDS, KINDS, PRODUCT, Kind, SimEvent, SimulationConfig


class _Tally:
    __slots__ = ("duplicate_ids", "late_ids", "malformed", "sent", "updates", "valid_ids")

    def __init__(self) -> None:
        self.sent = 0
        self.updates = 0
        self.valid_ids: set[str] = set()
        self.late_ids: list[str] = []
        self.duplicate_ids: list[str] = []
        self.malformed: list[dict[str, Any]] = []


class ManifestBuilder:
    """Counts the events actually sent: call :meth:`add` for each, then :meth:`to_dict`."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self._tallies = {name: _Tally() for name in CONTRACTS}
        self._kinds: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        self.total_sent = 0

    def add(self, event: SimEvent) -> None:
        """Record one sent event. A valid or late id sent twice is a simulator bug: :class:`ValueError`."""
        tally = self._tallies.get(event.contract)
        if tally is None:
            tally = self._tallies[event.contract] = _Tally()
        tally.sent += 1
        self.total_sent += 1
        self._kinds[event.kind] += 1
        if event.kind == "malformed":
            tally.malformed.append({"seq": event.seq, "reason": event.expected_error, "event_id": event.event_id})
            return
        if event.event_id is None:
            raise ValueError(f"seq {event.seq}: a {event.kind} {event.contract} event without an id")
        if event.kind == "duplicate":
            tally.duplicate_ids.append(event.event_id)
            return
        if event.contract == PRODUCT and event.kind == "valid" and event.event_id in tally.valid_ids:
            # a new version of a product (SimulationConfig.recategorised), as many as the config asks
            if tally.updates >= self.config.recategorised:
                raise ValueError(
                    f"seq {event.seq}: product id {event.event_id} was already sent as valid, and the "
                    f"{self.config.recategorised} move(s) the config asks are made"
                )
            tally.updates += 1
            return
        if event.event_id in tally.valid_ids:
            raise ValueError(f"seq {event.seq}: {event.contract} id {event.event_id} was already sent as valid")
        tally.valid_ids.add(event.event_id)
        if event.kind == "late":
            tally.late_ids.append(event.event_id)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-compatible data (ids sorted, so equal runs give equal manifests)."""
        contracts = {
            name: {
                "id_field": ID_FIELDS.get(name),
                "sent": t.sent,
                "valid_unique": len(t.valid_ids),
                "duplicates": len(t.duplicate_ids),
                "late": len(t.late_ids),
                "malformed": len(t.malformed),
                "updates": t.updates,
                "valid_ids": sorted(t.valid_ids),
                "late_ids": sorted(t.late_ids),
                "duplicate_ids": sorted(t.duplicate_ids),
                "malformed_events": t.malformed,
            }
            for name, t in sorted(self._tallies.items())
        }
        return {
            "seed": self.config.seed,
            "start": self.config.as_dict()["start"],
            "config": self.config.as_dict(),
            "total_sent": self.total_sent,
            "kinds": dict(self._kinds),
            "contracts": contracts,
        }


def write_manifest(path: Path, builder: ManifestBuilder) -> None:
    """Write the manifest as JSON (indent 2), creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(builder.to_dict(), indent=2) + "\n", encoding="utf-8")
