"""Opening a PyFlink TableEnvironment wired to the shared lakehouse: the one module of this lib that imports pyflink.

Only the speed layer's own environment (.runtime/venvs/flink-jobs) has pyflink; the main environment imports the
pure modules of this package and never this one.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dp_contracts.ir import RecordT
from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_core.scratch import scratch_dir
from dp_flink.catalog import create_catalog_sql, hadoop_classpath, pipeline_jars
from dp_flink.sql import bridge_type, decode_function, decode_result_type
from dp_flink.wire import Decoded, WireDecoder, registry_fetcher

if TYPE_CHECKING:
    from pyflink.table import TableEnvironment

#: decoded records kept for the second look-up of the same bytes (event time, then the record)
MEMO_SIZE = 8192


def flink_jars_dir(loaded: LoadedConfig) -> Path:
    return loaded.runtime_dir / "jars" / "flink"


@dataclass(frozen=True)
class JobOptions:
    """How one streaming job runs: its name, checkpoints, where it restores from and where it runs."""

    name: str
    """The job's name: its consumer group, transactional-id prefix and checkpoint folder."""
    checkpoint_dir: str
    """The URI under which the job's checkpoints go."""
    checkpoint_interval_s: float
    parallelism: int = 1
    restore_from: str | None = None
    """A checkpoint's URI to restore from; None: a fresh start."""
    remote: str | None = None
    """host:port of a session cluster's REST endpoint; None: an embedded MiniCluster."""


def log_dir(loaded: LoadedConfig) -> Path:
    """Where the embedded Flink of ``dp stream`` logs (PyFlink's default is inside its own package)."""
    return loaded.runtime_dir / "logs" / "flink-jobs"


def _prepare_process(loaded: LoadedConfig) -> Path:
    jars = flink_jars_dir(loaded)
    log_dir(loaded).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FLINK_LOG_DIR", str(log_dir(loaded)))
    os.environ["HADOOP_CLASSPATH"] = hadoop_classpath(jars)
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "WHEN_REQUIRED")
    # PyFlink's gateway JVM (the embedded cluster of a local job runs in it) gets no -Xmx of its own, so its heap
    # may grow to a quarter of the machine's memory: stream.jvm_heap_mb bounds it (JVM_ARGS is what PyFlink passes
    # to that java command; one -Xmx a user already put there wins)
    os.environ["JVM_ARGS"] = jvm_args(os.environ.get("JVM_ARGS", ""), loaded.settings.stream.jvm_heap_mb)
    # its temporary files (the planner jar Flink extracts at each start, 43 MB) in a scratch folder of this process
    # rather than /tmp, where a killed job would leave them (dp_core.scratch)
    os.environ["JVM_ARGS"] = with_tmpdir(os.environ["JVM_ARGS"], scratch_dir(loaded.runtime_dir, "flink"))
    # thread mode runs Python functions in an interpreter embedded in the JVM: it must see this environment's packages
    paths = [*site.getsitepackages(), *[p for p in sys.path if p and Path(p).is_dir()]]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return jars


def jvm_args(current: str, heap_mb: int) -> str:
    """``current`` JVM_ARGS with ``-Xmx<heap_mb>m`` added unless they already set a maximum heap."""
    if any(arg.startswith("-Xmx") for arg in current.split()):
        return current
    return f"{current} -Xmx{heap_mb}m".strip()


def with_tmpdir(current: str, tmpdir: Path) -> str:
    """``current`` JVM_ARGS with ``-Djava.io.tmpdir=<tmpdir>`` added unless they already set one."""
    if "-Djava.io.tmpdir=" in current:
        return current
    return f"{current} -Djava.io.tmpdir={tmpdir}".strip()


def table_environment(
    loaded: LoadedConfig, *, streaming: bool = False, job: JobOptions | None = None
) -> TableEnvironment:
    """A TableEnvironment with the connector jars, the Iceberg catalog registered and UTC as its time zone.

    HADOOP_CLASSPATH is set here, before the gateway JVM starts, because Iceberg's Flink catalog needs Hadoop's
    classes even when it talks to a REST catalog. Python functions run in thread mode (no worker processes).
    """
    jars = _prepare_process(loaded)
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env_settings = EnvironmentSettings.in_streaming_mode() if streaming else EnvironmentSettings.in_batch_mode()
    t_env = TableEnvironment.create(env_settings)
    conf = t_env.get_config()
    conf.set("pipeline.jars", ";".join(pipeline_jars(jars)))
    conf.set("parallelism.default", str(job.parallelism if job else 1))
    conf.set("table.local-time-zone", "UTC")
    conf.set("python.execution-mode", "thread")
    conf.set("python.executable", sys.executable)
    conf.set("python.client.executable", sys.executable)
    if job is not None:
        for key, value in loaded.settings.stream.flink.items():
            conf.set(key, value)
        conf.set("pipeline.name", job.name)
        conf.set("execution.checkpointing.interval", f"{int(job.checkpoint_interval_s * 1000)} ms")
        conf.set("execution.checkpointing.mode", "EXACTLY_ONCE")
        conf.set("execution.checkpointing.dir", job.checkpoint_dir)
        conf.set("execution.checkpointing.num-retained", "3")
        conf.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        conf.set("restart-strategy.type", "fixed-delay")
        conf.set("restart-strategy.fixed-delay.attempts", "3")
        conf.set("restart-strategy.fixed-delay.delay", "2 s")
        if job.restore_from:
            conf.set("execution.state-recovery.path", job.restore_from)
        if job.remote:
            host, _, port = job.remote.rpartition(":")
            conf.set("execution.target", "remote")
            conf.set("rest.address", host)
            conf.set("rest.port", port)
    t_env.execute_sql(create_catalog_sql(loaded.settings))
    _quiet_hadoop()
    return t_env


def _quiet_hadoop() -> None:
    """PyFlink's console log config sends Hadoop's INFO lines (one per Parquet decompressor...) to stdout, between
    the results a command prints: WARN and above only."""
    from pyflink.java_gateway import get_gateway

    log4j = get_gateway().jvm.org.apache.logging.log4j
    log4j.core.config.Configurator.setLevel("org.apache.hadoop", log4j.Level.WARN)


def empty_collections(record: RecordT) -> dict[int, Callable[[], Any]]:
    """Position -> a maker of an empty value, for the top-level fields that cross the Python bridge as an ARRAY or a
    MAP. PyFlink 2.0's thread mode cannot carry a null collection (a null array fails in its Python converter with
    ``TypeError: 'NoneType' object is not iterable``, a null map in Java with a NullPointerException; either way the
    job fails), so the decode function gives such fields an empty one instead: for a reject, whose fields nothing
    reads, and for a null optional collection of a valid record, which the jobs read as empty."""
    out: dict[int, Callable[[], Any]] = {}
    for i, f in enumerate(record.fields):
        kind = bridge_type(f.type)
        if kind.startswith("ARRAY<"):
            out[i] = list
        elif kind.startswith("MAP<"):
            out[i] = dict
    return out


class _Memo:
    """The latest decodes by value bytes. The planner evaluates the decode function in several operators (event time,
    record, rejects); in thread mode they share one interpreter, so one memo per function spares the repeats."""

    def __init__(self, decoder: WireDecoder) -> None:
        self._decoder = decoder
        self._recent: dict[bytes, Decoded] = {}

    def __call__(self, value: bytes | None) -> Decoded:
        if value is None:
            return self._decoder.decode(value)
        hit = self._recent.get(value)
        if hit is not None:
            return hit
        decoded = self._decoder.decode(value)
        if len(self._recent) >= MEMO_SIZE:
            self._recent.clear()
        self._recent[value] = decoded
        return decoded


#: one memo per decode function, shared by every operator of this interpreter
_MEMOS: dict[str, _Memo] = {}


def register_decoders(t_env: TableEnvironment, loaded: LoadedConfig, contracts: Iterable[Contract]) -> None:
    """One scalar function per contract, ``decode_<domain>_<name>(value BYTES)`` -> ROW (see dp_flink.sql)."""
    from pyflink.common import Row
    from pyflink.table.udf import udf

    registry = loaded.settings.registry
    auth = None
    if registry.basic_auth_user and registry.basic_auth_password:
        auth = (registry.basic_auth_user, registry.basic_auth_password.get_secret_value())
    fetch = registry_fetcher(registry.url, auth=auth)
    for contract in contracts:
        empties = empty_collections(contract.record)

        def make(contract: Contract = contract, empties: dict[int, Callable[[], Any]] = empties) -> Any:
            key = decode_function(contract)
            width = len(contract.record.fields)

            def decode(value: bytes | None) -> Row:
                memo = _MEMOS.get(key)
                if memo is None:
                    decoder = WireDecoder(contract.schema, contract.record, fetch, make_row=lambda v: Row(*v))
                    memo = _MEMOS.setdefault(key, _Memo(decoder))
                got = memo(value)
                if got.values is None:  # a reject: its fields are never read, but must cross the bridge
                    blank = [empties[i]() if i in empties else None for i in range(width)]
                    return Row(*blank, got.schema_id, got.reason)
                values = got.values
                if any(values[i] is None for i in empties):
                    values = [empties[i]() if v is None and i in empties else v for i, v in enumerate(values)]
                return Row(*values, got.schema_id, None)

            return decode

        t_env.create_temporary_system_function(
            decode_function(contract), udf(make(), result_type=decode_result_type(contract.record))
        )
