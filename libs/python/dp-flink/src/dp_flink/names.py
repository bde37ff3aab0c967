"""Names of the speed layer's jobs and outputs, shared by the jobs (their own environment) and the main
environment's callers (``dp demo`` resets them), so neither spells them again."""

from __future__ import annotations

from dp_core.config import PlatformSettings


def job_name(job: str, domain: str) -> str:
    """A speed-layer job's name: its consumer group, transactional-id prefix and checkpoint folder."""
    return f"dp-{job}-{domain}"


def enriched_topic(settings: PlatformSettings, domain: str) -> str:
    """The event enricher's output topic."""
    return f"{domain}.{settings.stream.enriched_topic_suffix}"


def progress_table(job: str, domain: str) -> str:
    """The table in which a job records, at each checkpoint, how far it has read (see :mod:`dp_flink.progress`)."""
    return f"{domain}__{job}_progress_rt"
