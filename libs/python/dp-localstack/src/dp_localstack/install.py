"""Fetching every pinned artifact into the runtime folder, idempotently.

* JVM runtimes (Kafka, the Iceberg REST catalog, the Spark and Flink connector jars): one Maven POM each under
  ``local/runtime/<name>/pom.xml``, resolved from Maven Central with ``dependency:copy-dependencies``.
* versitygw, the S3-compatible server: built from the Go module proxy with ``go install``.
* PostgreSQL: the Debian package, installed with apt when the server binaries are missing.

Each artifact records what it was built from in a stamp file; when the stamp matches, nothing is fetched, so a
second run does no network work.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dp_localstack.errors import InstallError, MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.process import is_root
from dp_localstack.services import postgres_bin_dir

VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION = "v1.8.0"
TOOL_HINTS = {
    "java": "install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)",
    "mvn": "install Apache Maven 3.8+ (Debian: apt-get install maven)",
    "go": "install Go 1.24+ (https://go.dev/dl or Debian: apt-get install golang)",
}
Echo = Callable[[str], None]


def require_tools(*tools: str) -> None:
    """Fail with what to install when a needed tool is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise MissingToolError(", ".join(missing), "; ".join(TOOL_HINTS.get(t, "install it") for t in missing))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(name, TOOL_HINTS.get(name, "install it"))
    return path


def _stamp_ok(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text(encoding="utf-8") == value


def _write_stamp(stamp: Path, value: str) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(value, encoding="utf-8")


def maven_runtimes(layout: Layout) -> list[str]:
    return sorted(p.parent.name for p in layout.definitions.glob("*/pom.xml"))


def install_maven_runtime(layout: Layout, name: str, echo: Echo) -> bool:
    """Resolve ``local/runtime/<name>/pom.xml`` into ``<runtime>/jars/<name>``. True if it fetched anything."""
    pom = layout.definitions / name / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    target, stamp = layout.jars(name), layout.stamps / f"jars-{name}"
    if _stamp_ok(stamp, digest) and any(target.glob("*.jar")):
        return False
    require_tools("java", "mvn")
    echo(f"  fetching {name} jars from Maven Central ({pom.relative_to(layout.repo)})")
    began = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        result = subprocess.run(
            [
                _tool("mvn"),
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if result.returncode != 0:
            raise InstallError(f"{name} jars", (result.stdout + result.stderr).strip()[-3000:])
        shutil.rmtree(target, ignore_errors=True)
        Path(tmp).replace(target)
        Path(tmp).mkdir()  # give TemporaryDirectory something to clean up
    jars = list(target.glob("*.jar"))
    size = sum(j.stat().st_size for j in jars) / 1e6
    echo(f"  {name}: {len(jars)} jars, {size:.0f} MB in {time.monotonic() - began:.0f} s")
    _write_stamp(stamp, digest)
    return True


def install_versitygw(layout: Layout, echo: Echo) -> bool:
    """Build the pinned versitygw from the Go module proxy into ``<runtime>/bin``."""
    binary, stamp = layout.bin / "versitygw", layout.stamps / "versitygw"
    if _stamp_ok(stamp, VERSITYGW_VERSION) and binary.exists():
        return False
    require_tools("go")
    echo(f"  building versitygw {VERSITYGW_VERSION} from the Go module proxy (a few minutes on 2 cores)")
    began = time.monotonic()
    layout.bin.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.bin, prefix=".gobin-") as tmp:
        env = {**os.environ, "GOBIN": tmp, "CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}
        result = subprocess.run(
            [_tool("go"), "install", f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=3600,
        )
        if result.returncode != 0:
            raise InstallError("versitygw", result.stderr.strip()[-3000:])
        (Path(tmp) / "versitygw").replace(binary)
    echo(f"  versitygw built in {time.monotonic() - began:.0f} s")
    _write_stamp(stamp, VERSITYGW_VERSION)
    return True


def install_postgres(echo: Echo) -> bool:
    """Make sure PostgreSQL's server binaries exist; install the Debian package if they do not."""
    try:
        postgres_bin_dir()
        return False
    except MissingToolError:
        if not (is_root() and shutil.which("apt-get")):
            raise
    echo("  installing PostgreSQL from Debian packages (apt-get)")
    # Do not let the package create and start a cluster of its own on 5432: the stack runs its own.
    conf = Path("/etc/postgresql-common/createcluster.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text("create_main_cluster = false\n", encoding="utf-8")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold", "postgresql"],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=1800)
        if result.returncode != 0:
            raise InstallError("PostgreSQL", result.stderr.strip()[-3000:])
    postgres_bin_dir()
    return True


def install_all(layout: Layout, echo: Echo) -> int:
    """Fetch everything the stack runs. Returns how many artifacts were fetched (0 on a second run)."""
    require_tools("java")
    fetched = 0
    for name in maven_runtimes(layout):
        fetched += install_maven_runtime(layout, name, echo)
    fetched += install_versitygw(layout, echo)
    fetched += install_postgres(echo)
    return fetched
