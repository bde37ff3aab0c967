"""PostgreSQL from the installed server binaries: one cluster (initdb on first start), the platform's role and
databases created at bootstrap. As root the server runs as the ``postgres`` OS user, which PostgreSQL requires.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import psutil

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.process import is_root
from dp_localstack.services.base import ServiceSpec, reveal, run

POSTGRES_OS_USER = "postgres"
#: Server settings passed as ``-c name=value`` (besides the addresses, which come from the configuration).
SERVER_SETTINGS = {"shared_buffers": "128MB", "max_connections": "100"}


def postgres_bin_dir() -> Path:
    """The folder of the newest installed PostgreSQL server binaries (Debian layout, then PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("postgres") or shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    raise MissingToolError("postgres", "install the PostgreSQL server (Debian: apt-get install postgresql)")


def postgres_superuser() -> str:
    return POSTGRES_OS_USER if is_root() else os.environ.get("USER") or "postgres"


def postgres_socket_dir(layout: Layout) -> Path:
    return layout.run / "postgres"


def clear_stale_lock(lock: Path) -> bool:
    """Remove a PostgreSQL lock file (``postmaster.pid`` in the data folder, ``.s.PGSQL.<port>.lock`` beside the
    socket) when the postmaster it names is gone or a zombie; whether it was removed.

    PostgreSQL refuses to start while the PID in a lock file answers ``kill(pid, 0)``, which a zombie does: a
    postmaster killed with SIGKILL whose parent (here, usually PID 1 of a container) has not reaped it yet blocks
    the restart ("lock file ... already exists"). A live postmaster's lock file is left alone (PostgreSQL then says
    what is in the way)."""
    try:
        pid = int(lock.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            return False
    except psutil.NoSuchProcess:
        pass
    except psutil.Error:
        return False
    lock.unlink(missing_ok=True)
    return True


def postgres(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    pg = settings.postgres
    data = layout.data("postgres")
    sockets = postgres_socket_dir(layout)
    os_user = POSTGRES_OS_USER if is_root() else None
    superuser = postgres_superuser()
    admin_conninfo = f"host={sockets} port={pg.port} user={superuser} dbname=postgres"

    def prepare() -> None:
        sockets.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        if os_user:
            _grant_traverse(layout.runtime, os_user)
            shutil.chown(sockets, os_user, os_user)
            shutil.chown(data, os_user, os_user)
            data.chmod(0o700)
        if (data / "PG_VERSION").exists():
            clear_stale_lock(data / "postmaster.pid")
            clear_stale_lock(sockets / f".s.PGSQL.{pg.port}.lock")
            return
        pwfile = layout.run / "postgres.pwfile"
        pwfile.write_text(reveal(pg.password) or "postgres", encoding="utf-8")
        if os_user:
            shutil.chown(pwfile, os_user, os_user)
        pwfile.chmod(0o600)
        try:
            run(
                [
                    str(postgres_bin_dir() / "initdb"),
                    *("-D", str(data), "-U", superuser, "--auth-local=trust", "--auth-host=scram-sha-256"),
                    *(f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"),
                ],
                "PostgreSQL initdb",
                user=os_user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def command() -> list[str]:
        server = {"listen_addresses": pg.host, "port": pg.port, "unix_socket_directories": sockets, **SERVER_SETTINGS}
        options = [arg for name, value in server.items() for arg in ("-c", f"{name}={value}")]
        return [str(postgres_bin_dir() / "postgres"), "-D", str(data), *options]

    def bootstrap() -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (pg.user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(pg.user), sql.Literal(reveal(pg.password))
                )
            )
            for db in pg.databases.model_dump().values():
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(pg.user))
                    )

    return ServiceSpec(
        name="postgres",
        group="core",
        port=pg.port,
        description="PostgreSQL (catalog, registry, Airflow and platform metadata)",
        command=command,
        health=lambda: health.postgres_select_one(admin_conninfo),
        user=os_user,
        stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for every client to disconnect
        prepare=prepare,
        bootstrap=bootstrap,
        url=f"postgresql://{pg.user}@{pg.host}:{pg.port}",
    )


def _grant_traverse(path: Path, user: str) -> None:
    """Let the unprivileged server user reach its data folder: o+x on the runtime folder and its parents."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
