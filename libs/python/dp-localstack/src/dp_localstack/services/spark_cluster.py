"""A Spark standalone cluster (one master, one worker) from the Spark distribution inside the pyspark package."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.services.base import LazyEnv, ServiceSpec, at_least_one

HOST = "127.0.0.1"


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package of the main environment (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise MissingToolError("pyspark", "run `make install` (pyspark is part of the main environment)")
    return Path(spec.origin).parent


def _spark_env(layout: Layout) -> dict[str, str]:
    home = spark_home()
    return {
        "SPARK_HOME": str(home),
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_LOG_DIR": str(layout.runtime / "logs"),
        "SPARK_WORKER_DIR": str(layout.data("spark-worker")),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DAEMON_MEMORY": "512m",
        "SPARK_LOCAL_IP": HOST,
    }


def _spark_class(main: str, *args: str) -> Callable[[], list[str]]:
    """The command of a Spark daemon: ``spark-class <main> <args>``."""
    return lambda: [str(spark_home() / "bin" / "spark-class"), main, *args]


def spark_master(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    spark = settings.local.spark
    ui = f"http://{HOST}:{spark.ui_port}"
    return ServiceSpec(
        name="spark-master",
        group="full",
        port=spark.master_port,
        extra_ports=(spark.ui_port,),
        description="Spark standalone master",
        command=_spark_class(
            "org.apache.spark.deploy.master.Master",
            *("--host", HOST, "--port", str(spark.master_port), "--webui-port", str(spark.ui_port)),
        ),
        env=LazyEnv(lambda: _spark_env(layout)),
        health=lambda: health.http_json(
            f"{ui}/json/", lambda b: health.Health(b.get("status") == "ALIVE", f"master {b.get('status')}")
        ),
        url=ui,
    )


def spark_worker(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    spark = settings.local.spark
    return ServiceSpec(
        name="spark-worker",
        group="full",
        port=spark.worker_ui_port,
        description="Spark standalone worker",
        command=_spark_class(
            "org.apache.spark.deploy.worker.Worker",
            f"spark://{HOST}:{spark.master_port}",
            *("--host", HOST, "--webui-port", str(spark.worker_ui_port)),
            *("--cores", str(spark.worker_cores), "--memory", spark.worker_memory),
        ),
        env=LazyEnv(lambda: _spark_env(layout)),
        prepare=lambda: layout.data("spark-worker").mkdir(parents=True, exist_ok=True),
        health=at_least_one(f"http://{HOST}:{spark.ui_port}/json/", "aliveworkers", "alive worker(s)"),
        url=f"http://{HOST}:{spark.worker_ui_port}",
    )
