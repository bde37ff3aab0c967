"""A Flink session cluster (one JobManager, one TaskManager) from the Flink distribution inside the PyFlink package
of the Flink environment, with the cluster configuration written from the settings when a process starts.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.services.base import AWS_CHECKSUM_ENV, LazyEnv, ServiceSpec, at_least_one

FLINK_ENV = "flink-jobs"


def pyflink_home(layout: Layout) -> Path:
    """The Flink distribution inside the PyFlink package of the Flink environment."""
    found = sorted((layout.venv(FLINK_ENV) / "lib").glob("python3*/site-packages/pyflink/bin/jobmanager.sh"))
    if not found:
        raise MissingToolError(
            "pyflink", f"the Flink environment {layout.venv(FLINK_ENV)} is missing: run `make install`"
        )
    return found[0].parent.parent


def flink_config_yaml(settings: PlatformSettings, java_opts: object) -> str:
    """The cluster's config.yaml: everything on 127.0.0.1, the memory and slots of ``local.flink.*``."""
    flink = settings.local.flink
    lines = [
        "# Written by `dp local up` from config/ (local.flink.*): edits here are overwritten.",
        "jobmanager:",
        "  bind-host: 127.0.0.1",
        "  rpc:",
        "    address: 127.0.0.1",
        f"    port: {flink.rpc_port}",
        "  memory:",
        f"    process:\n      size: {flink.jobmanager_memory}",
        "taskmanager:",
        "  bind-host: 127.0.0.1",
        "  host: 127.0.0.1",
        f"  numberOfTaskSlots: {flink.taskmanager_slots}",
        "  memory:",
        f"    process:\n      size: {flink.taskmanager_memory}",
        "rest:",
        "  address: 127.0.0.1",
        "  bind-address: 127.0.0.1",
        f"  port: {flink.ui_port}",
        "parallelism:",
        "  default: 1",
    ]
    if java_opts:
        lines += ["env:", "  java:", "    opts:", f"      all: {json.dumps(str(java_opts))}"]
    lines.append("")
    return "\n".join(lines)


def _flink_conf(settings: PlatformSettings, layout: Layout) -> dict[str, str]:
    conf = layout.conf("flink")
    conf.mkdir(parents=True, exist_ok=True)
    home = pyflink_home(layout)
    # the JVM options Flink needs on Java 17 (module opens), as the package's own config has them
    shipped = yaml.safe_load((home / "conf" / "config.yaml").read_text(encoding="utf-8")) or {}
    java_opts = shipped.get("env", {}).get("java", {}).get("opts", {}).get("all")
    # temporary files (the planner jar extracted at each start) under the runtime folder, not in /tmp
    tmp = layout.runtime / "tmp" / "flink-cluster"
    tmp.mkdir(parents=True, exist_ok=True)
    java_opts = f"{java_opts or ''} -Djava.io.tmpdir={tmp}".strip()
    (conf / "config.yaml").write_text(flink_config_yaml(settings, java_opts), encoding="utf-8")
    for name in ("log4j-console.properties", "log4j.properties", "logback-console.xml"):
        source = home / "conf" / name
        if source.exists():
            shutil.copyfile(source, conf / name)
    jars = layout.jars("flink")
    hadoop = ":".join(str(p) for p in sorted(jars.glob("hadoop-client-*.jar")))
    # the cluster's lib: the package's lib plus flink-python from opt (jobs with Python functions need it)
    lib = layout.runtime / "flink" / "lib"
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    for jar in [*sorted((home / "lib").glob("*.jar")), *sorted((home / "opt").glob("flink-python-*.jar"))]:
        (lib / jar.name).symlink_to(jar)
    site_packages = home.parent
    # editable installs are .pth lines, which PYTHONPATH entries do not get: list their folders too
    paths = [str(site_packages)]
    for pth in sorted(site_packages.glob("*.pth")):
        for line in pth.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith(("#", "import")) and Path(line).is_dir():
                paths.append(line)
    return {
        "FLINK_HOME": str(home),
        "FLINK_LIB_DIR": str(lib),
        # Python functions in thread mode run in an interpreter embedded in the TaskManager: it must see the
        # speed layer's environment
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        "FLINK_CONF_DIR": str(conf),
        "FLINK_LOG_DIR": str(layout.runtime / "logs"),
        "HADOOP_CLASSPATH": hadoop,
        **AWS_CHECKSUM_ENV,
    }


def _foreground(layout: Layout, script: str) -> Callable[[], list[str]]:
    """The command of a cluster process: one of the distribution's scripts, in the foreground."""
    return lambda: [str(pyflink_home(layout) / "bin" / script), "start-foreground"]


def flink_jobmanager(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    ui = f"http://127.0.0.1:{settings.local.flink.ui_port}"
    return ServiceSpec(
        name="flink-jobmanager",
        group="full",
        port=settings.local.flink.ui_port,
        extra_ports=(settings.local.flink.rpc_port,),
        description="Flink session cluster JobManager (from the PyFlink package)",
        command=_foreground(layout, "jobmanager.sh"),
        env=LazyEnv(lambda: _flink_conf(settings, layout)),
        health=lambda: health.http_get(f"{ui}/config"),
        url=ui,
    )


def flink_taskmanager(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    ui = f"http://127.0.0.1:{settings.local.flink.ui_port}"
    return ServiceSpec(
        name="flink-taskmanager",
        group="full",
        port=0,
        description="Flink session cluster TaskManager",
        command=_foreground(layout, "taskmanager.sh"),
        env=LazyEnv(lambda: _flink_conf(settings, layout)),
        health=at_least_one(f"{ui}/overview", "taskmanagers", "taskmanager(s)"),
        url=ui,
    )
