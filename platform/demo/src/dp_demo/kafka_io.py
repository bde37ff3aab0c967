"""What the demo's topics hold, read back from Kafka: which of a workload's records arrived (by sequence number),
how many belong to other demo workloads and how many to nobody's demo. Kafka is the source of truth when the demo
resumes: a record is re-sent only if it is not in its topic."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka.admin import AdminClient

from dp_core.config import PlatformSettings
from dp_demo.errors import DemoError
from dp_demo.workload import RUN_HEADER, SEQ_HEADER
from dp_ingest.errors import IngestError
from dp_ingest.kafka import client_conf
from dp_ingest.readback import ReadBackTimeoutError, read_to_end
from dp_ingest.topics import await_admin

#: librdkafka's informational logs (e.g. "purging unserved events" when an admin client closes) are not for users
QUIET = {"log_level": 3}


@dataclass
class TopicContents:
    """One topic's records, sorted by the workload they belong to."""

    records: int = 0
    seqs: collections.Counter[int] = field(default_factory=collections.Counter)  # this workload: seq -> copies
    other_workloads: collections.Counter[str] = field(default_factory=collections.Counter)
    foreign: int = 0  # records without the demo's headers

    @property
    def ours(self) -> int:
        return sum(self.seqs.values())


def _header(headers: object, name: str) -> str | None:
    for key, value in headers if isinstance(headers, list) else []:
        if key == name and value is not None:
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return None


def read_topics(
    settings: PlatformSettings, topics: Iterable[str], run_id: str, timeout_s: float = 120.0
) -> dict[str, TopicContents]:
    """Every record of ``topics`` (missing topics: empty), from the beginning to the end offsets of now."""
    names = list(topics)
    contents = {t: TopicContents() for t in names}
    try:
        back = read_to_end(settings, names, timeout_s, group_prefix="dp-demo-readback")
    except ReadBackTimeoutError:
        raise DemoError(f"reading back the demo's topics took longer than {timeout_s:.0f} s") from None
    except IngestError as exc:  # Kafka unreachable, a fatal consumer error
        raise DemoError(str(exc)) from None
    for msg in back.records:
        found = contents[str(msg.topic())]
        found.records += 1
        headers = msg.headers()
        run = _header(headers, RUN_HEADER)
        seq = _header(headers, SEQ_HEADER)
        if run == run_id and seq is not None and seq.isdigit():
            found.seqs[int(seq)] += 1
        elif run is not None:
            found.other_workloads[run] += 1
        else:
            found.foreign += 1
    return contents


def delete_groups(settings: PlatformSettings, groups: Iterable[str]) -> list[str]:
    """Delete consumer groups (their committed offsets); groups that do not exist are skipped."""
    admin = AdminClient(client_conf(settings) | QUIET)
    wanted = list(groups)
    listed = admin.list_consumer_groups(request_timeout=15).result()
    present = [g for g in wanted if g in {v.group_id for v in listed.valid}]
    if not present:
        return []
    await_admin(admin.delete_consumer_groups(present, request_timeout=15), "delete consumer group")
    return present
