"""Kafka offsets as Bronze records them, and the offset ranges a run reads (pure: no Kafka, no Spark).

A Bronze snapshot's summary carries ``dp.kafka.offsets``: per topic and partition, the next offset to read, as JSON
``{"<topic>": {"<partition>": next_offset}}``. A run reads, per partition, the half-open range from that offset to
the high watermark it saw when it started, and commits the high watermarks in the snapshot that holds the records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

#: topic -> partition -> next offset to read
Offsets = dict[str, dict[int, int]]
#: partition -> (low watermark, high watermark) of one topic, as the broker reports them
Watermarks = Mapping[int, tuple[int, int]]


class OffsetsFormatError(ValueError):
    """A ``dp.kafka.offsets`` value that is not the JSON this module writes."""


def parse_offsets(text: str | None) -> Offsets:
    """Read a ``dp.kafka.offsets`` value; ``None`` or ``""`` means nothing has been read yet."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OffsetsFormatError(f"offsets are not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise OffsetsFormatError(f"offsets must be a JSON object of topics, got {type(raw).__name__}")
    out: Offsets = {}
    for topic, partitions in raw.items():
        if not isinstance(partitions, dict):
            raise OffsetsFormatError(f"offsets of topic {topic!r} must be an object of partitions")
        parsed: dict[int, int] = {}
        for partition, offset in partitions.items():
            try:
                p = int(partition)
            except ValueError:
                raise OffsetsFormatError(f"topic {topic!r}: partition {partition!r} is not an integer") from None
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 or p < 0:
                raise OffsetsFormatError(f"topic {topic!r} partition {partition}: offset {offset!r} is not >= 0")
            parsed[p] = offset
        out[str(topic)] = parsed
    return out


def dump_offsets(offsets: Mapping[str, Mapping[int, int]]) -> str:
    """The canonical JSON of ``offsets``: topics sorted, partitions in numeric order, compact."""
    return json.dumps(offsets_json(offsets), separators=(",", ":"))


def offsets_json(offsets: Mapping[str, Mapping[int, int]]) -> dict[str, dict[str, int]]:
    """``offsets`` with string partition keys (JSON's object keys), topics sorted, partitions in numeric order."""
    return {topic: {str(p): offsets[topic][p] for p in sorted(offsets[topic])} for topic in sorted(offsets)}


def merge_offsets(committed: Mapping[str, Mapping[int, int]], update: Mapping[str, Mapping[int, int]]) -> Offsets:
    """``committed`` with the partitions in ``update`` replaced; topics and partitions not in ``update`` are kept."""
    merged: Offsets = {topic: dict(partitions) for topic, partitions in committed.items()}
    for topic, partitions in update.items():
        merged.setdefault(topic, {}).update(partitions)
    return merged


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition."""

    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        """Offsets in the range (records, unless compaction or transaction markers left gaps)."""
        return self.end - self.start


@dataclass(frozen=True)
class TopicPlan:
    """What one run reads from one topic, and the offsets it commits when it lands the records.

    Attributes:
        ranges: the non-empty ranges to read, by partition.
        start: the offset each partition of the topic is read from (also those with nothing new).
        next_offsets: the offsets to commit for this topic: ``start`` moved to the high watermark.
        lost: ranges deleted by retention before Bronze read them (the job fails on these unless told not to).
        problems: states no run can resolve by itself (a committed offset beyond the end of its partition).
        notes: what an operator may want to know (topic missing, new partitions, ...).
    """

    topic: str
    ranges: tuple[PartitionRange, ...] = ()
    start: dict[int, int] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    lost: tuple[PartitionRange, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    exists: bool = True

    @property
    def empty(self) -> bool:
        return not self.ranges

    @property
    def offsets_in_ranges(self) -> int:
        return sum(r.size for r in self.ranges)

    def assign_json(self) -> str:
        """Spark's ``assign`` option: exactly the partitions with something to read."""
        return json.dumps({self.topic: [r.partition for r in self.ranges]})

    def starting_json(self) -> str:
        return json.dumps({self.topic: {str(r.partition): r.start for r in self.ranges}})

    def ending_json(self) -> str:
        return json.dumps({self.topic: {str(r.partition): r.end for r in self.ranges}})


def plan_topic(topic: str, committed: Offsets, watermarks: Watermarks | None) -> TopicPlan:
    """The ranges to read from ``topic`` given the offsets committed so far and the broker's watermarks.

    * ``watermarks`` ``None``: the topic does not exist (yet); nothing is read and the committed offsets stay.
    * A topic Bronze has never read starts at each partition's low watermark (the earliest record kept).
    * A partition new to a topic Bronze has read before starts at 0: records below its low watermark were deleted
      before Bronze could read them and are reported as ``lost``, as are records of known partitions whose committed
      offset fell below the low watermark.
    * A committed offset above the high watermark (the topic was deleted and recreated, or truncated) is a problem:
      reading on would silently skip the records that refill the gap.
    """
    known = committed.get(topic)
    if watermarks is None:
        return TopicPlan(
            topic,
            start=dict(known or {}),
            next_offsets=dict(known or {}),
            notes=(f"topic {topic} does not exist: skipped",),
            exists=False,
        )
    ranges: list[PartitionRange] = []
    lost: list[PartitionRange] = []
    problems: list[str] = []
    notes: list[str] = []
    start: dict[int, int] = {}
    next_offsets: dict[int, int] = dict(known or {})
    new_partitions: list[int] = []
    for partition in sorted(watermarks):
        low, high = watermarks[partition]
        if known is None:
            begin = low
        elif partition in known:
            begin = known[partition]
        else:
            begin = 0
            new_partitions.append(partition)
        if begin > high:
            problems.append(
                f"{topic}[{partition}]: committed offset {begin} is beyond the end of the partition ({high}); "
                "was the topic deleted and recreated?"
            )
            start[partition] = begin
            continue
        if begin < low:
            lost.append(PartitionRange(partition, begin, low))
            begin = low
        start[partition] = begin
        if begin < high:
            ranges.append(PartitionRange(partition, begin, high))
        next_offsets[partition] = high
    if known is None and any(low > 0 for low, _ in watermarks.values()):
        notes.append(f"topic {topic}: first read starts at the earliest records kept (older ones expired)")
    if new_partitions:
        notes.append(f"topic {topic}: new partitions {new_partitions} read from offset 0")
    vanished = sorted(set(known or {}) - set(watermarks))
    if vanished:
        notes.append(f"topic {topic}: partitions {vanished} have committed offsets but no longer exist")
    return TopicPlan(topic, tuple(ranges), start, next_offsets, tuple(lost), tuple(problems), tuple(notes))
