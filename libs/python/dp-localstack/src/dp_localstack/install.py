"""Fetching every pinned artifact into the runtime folder, idempotently.

* JVM runtimes (Kafka, the Iceberg REST catalog, the Spark and Flink connector jars): one Maven POM each under
  ``local/runtime/<name>/pom.xml``, resolved from Maven Central with ``dependency:copy-dependencies``.
* versitygw, the S3-compatible server: built from the Go module proxy with ``go install``.
* PostgreSQL: the Debian package, installed with apt when the server binaries are missing.
* Trino (the Data API's scale-out engine and the SQL endpoint for BI tools): the ``trino-server`` tarball from Maven
  Central, unpacked with its Iceberg plugin only.

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
from dp_localstack.services.trino import TRINO_PLUGINS, TRINO_VERSION

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


def install_trino(layout: Layout, echo: Echo) -> bool:
    """Fetch ``io.trino:trino-server:<TRINO_VERSION>:tar.gz`` with Maven (kept in the local Maven repository, so a
    fresh checkout does no download) and unpack its ``lib/`` and the plugins of :data:`TRINO_PLUGINS` into
    ``<runtime>/trino/trino-server-<version>``. True if it installed anything."""
    home, stamp = layout.trino_home(TRINO_VERSION), layout.stamps / "trino"
    wanted = f"{TRINO_VERSION} {' '.join(TRINO_PLUGINS)}"
    if _stamp_ok(stamp, wanted) and any((home / "lib").glob("*.jar")):
        return False
    require_tools("mvn", "tar")
    echo(f"  fetching trino-server {TRINO_VERSION} from Maven Central (an 821 MB tarball, once per machine)")
    began = time.monotonic()
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=".trino-") as tmp:
        result = subprocess.run(
            [_tool("mvn"), "-q", "-B", "dependency:copy", f"-Dartifact=io.trino:trino-server:{TRINO_VERSION}:tar.gz",
             f"-DoutputDirectory={tmp}"],
            capture_output=True, text=True, check=False, timeout=3600,
        )  # fmt: skip
        if result.returncode != 0:
            raise InstallError("trino-server", (result.stdout + result.stderr).strip()[-3000:])
        tarball = Path(tmp) / f"trino-server-{TRINO_VERSION}.tar.gz"
        # all of it (its plugins share jars through hard links, which a partial unpack would break), then only
        # the plugins the stack loads are kept
        unpacked = subprocess.run(
            [_tool("tar"), "-xzf", str(tarball), "-C", tmp], capture_output=True, text=True, check=False, timeout=1800
        )
        if unpacked.returncode != 0:
            raise InstallError("trino-server", unpacked.stderr.strip()[-3000:])
        tarball.unlink()
        root = Path(tmp) / f"trino-server-{TRINO_VERSION}"
        for plugin in (root / "plugin").iterdir():
            if plugin.name not in TRINO_PLUGINS:
                shutil.rmtree(plugin)
        shutil.rmtree(home, ignore_errors=True)
        root.replace(home)
    size = sum(f.stat().st_size for f in home.rglob("*.jar")) / 1e6
    echo(f"  trino-server {TRINO_VERSION}: lib + {', '.join(TRINO_PLUGINS)} plugin, {size:.0f} MB in "
         f"{time.monotonic() - began:.0f} s")  # fmt: skip
    _write_stamp(stamp, wanted)
    return True


def install_all(layout: Layout, echo: Echo) -> int:
    """Fetch everything the stack runs. Returns how many artifacts were fetched (0 on a second run)."""
    require_tools("java")
    fetched = 0
    for name in maven_runtimes(layout):
        fetched += install_maven_runtime(layout, name, echo)
    fetched += install_versitygw(layout, echo)
    fetched += install_postgres(echo)
    fetched += install_trino(layout, echo)
    return fetched
