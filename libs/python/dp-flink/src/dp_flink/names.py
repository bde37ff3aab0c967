"""Names of the speed layer's jobs and of what they write, shared by the jobs (their own environment) and the main
environment's callers (``dp stream``, its benchmark, ``dp demo`` which reads and resets them, the tests), so that
none of them spells a name again.

Every table lives in the Silver namespace as ``<domain>__<stem>``: the aggregator's windowed aggregates
``<metric>_<window>_rt`` (``orders_1m_rt`` for one-minute windows), its late events and the records it could not
decode, the enricher's enriched orders, and each job's progress table ``<job>_progress_rt``.
"""

from __future__ import annotations

from typing import Literal

from dp_contracts.model import domain_table
from dp_core.config import PlatformSettings

AGGREGATOR, ENRICHER = "aggregator", "enricher"
#: the speed layer's jobs, in the order the demo starts them
JOBS = (AGGREGATOR, ENRICHER)

Metric = Literal["orders", "revenue", "page_views", "funnel"]
#: what the aggregator counts per window, one table each (see :func:`window_table`)
METRICS: tuple[Metric, ...] = ("orders", "revenue", "page_views", "funnel")
#: the stems of the other outputs: the aggregator's late events and undecodable records, the enricher's orders
LATE_EVENTS, STREAM_REJECTS, ORDERS_ENRICHED = "late_events_rt", "stream_rejects_rt", "orders_enriched_rt"


#: the contracts each job reads (their topics' lag behind the job's consumer group says how far behind it is)
JOB_INPUTS: dict[str, tuple[str, ...]] = {
    "enricher": ("order_placed", "product", "customer", "payment_processed"),
    "aggregator": ("page_view", "cart_updated", "order_placed", "product"),
}


def job_name(job: str, domain: str) -> str:
    """A speed-layer job's name: its consumer group, transactional-id prefix and checkpoint folder."""
    return f"dp-{job}-{domain}"


def enriched_topic(settings: PlatformSettings, domain: str) -> str:
    """The event enricher's output topic."""
    return f"{domain}.{settings.stream.enriched_topic_suffix}"


def window_label(window_s: int) -> str:
    """60 -> ``1m``, 3600 -> ``1h``, 30 -> ``30s``."""
    if window_s % 3600 == 0:
        return f"{window_s // 3600}h"
    if window_s % 60 == 0:
        return f"{window_s // 60}m"
    return f"{window_s}s"


def window_table(metric: Metric, window_s: int) -> str:
    """The stem of the aggregator's table of ``metric`` per window of ``window_s`` seconds (``orders_1m_rt``)."""
    return f"{metric}_{window_label(window_s)}_rt"


def output_stems(window_s: int) -> tuple[str, ...]:
    """The stems of everything the jobs write but their progress tables: the windowed tables first."""
    return (*(window_table(m, window_s) for m in METRICS), LATE_EVENTS, STREAM_REJECTS, ORDERS_ENRICHED)


def progress_stem(job: str) -> str:
    """The stem of the table in which ``job`` records, at each checkpoint, how far it has read (see
    :mod:`dp_flink.progress`)."""
    return f"{job}_progress_rt"


def table(domain: str, stem: str) -> str:
    """A speed-layer table's name in the Silver namespace: ``<domain>__<stem>``."""
    return domain_table(domain, stem)


def progress_table(job: str, domain: str) -> str:
    """``job``'s progress table in ``domain`` (see :func:`progress_stem`)."""
    return table(domain, progress_stem(job))
