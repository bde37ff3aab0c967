"""Clearing the demo's domain on the local stack: its topics, the speed layer's consumer groups and checkpoints, its
tables in every layer (Gold: every relation of dbt's build), the demo's own state. Used by ``dp demo --reset`` and
when an earlier workload (another day, seed or size) is in the way."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError, NoSuchViewError

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_demo.kafka_io import delete_groups
from dp_demo.observe import table_names
from dp_flink.checkpoints import checkpoint_root, is_local, local_path
from dp_flink.checkpoints import reset as reset_checkpoints
from dp_flink.names import JOBS, enriched_topic, job_name
from dp_ingest.topics import delete_topics
from dp_lakehouse.tables import versions_table
from dp_transform.runner import DbtPaths


def demo_topics(loaded: LoadedConfig, contracts: list[Contract], domain: str) -> list[str]:
    return [t for c in contracts for t in (c.topic, c.dlq_topic)] + [enriched_topic(loaded.settings, domain)]


def reset_domain(
    loaded: LoadedConfig,
    catalog: Catalog,
    contracts: list[Contract],
    domain: str,
    state_dir: Path,
    say: Callable[[str], None],
) -> None:
    settings = loaded.settings
    topics = delete_topics(settings, demo_topics(loaded, contracts, domain))
    say(f"  deleted {len(topics)} topic(s)")
    groups = delete_groups(settings, [job_name(j, domain) for j in JOBS])
    say(f"  deleted {len(groups)} consumer group(s)")
    dropped = 0
    # the Silver tables of every contract, their quarantine, and the reference data's history (a product's versions
    # left behind would give the next workload's orders the last workload's categories)
    versions = [versions_table(settings, c) for c in contracts]
    for name in [*table_names(settings, contracts, domain).values(), *versions]:
        try:
            catalog.purge_table(name)
        except NoSuchTableError:
            continue
        dropped += 1
    # every relation of dbt's build (Gold's namespace is not named by domain): a mart left behind would fold the
    # next workload's Silver into the last one's rows
    gold = settings.transform.namespace or settings.iceberg.namespaces.gold
    for model in DbtPaths.of(loaded).model_names():
        try:
            catalog.purge_table(f"{gold}.{model}")
        except NoSuchTableError:
            try:
                catalog.drop_view(f"{gold}.{model}")
            except NoSuchViewError:
                continue
        dropped += 1
    say(f"  dropped {dropped} table(s) and view(s), with their files")
    for job in JOBS:
        root = checkpoint_root(loaded, job_name(job, domain))
        if is_local(root) and reset_checkpoints(local_path(root)):
            say(f"  forgot the {job}'s checkpoints")
    if state_dir.exists():
        shutil.rmtree(state_dir)
