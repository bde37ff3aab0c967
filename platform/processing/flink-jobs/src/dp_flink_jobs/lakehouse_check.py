"""Write rows into an Iceberg table through the shared catalog and read the table back, from Flink.

Proves that Flink shares one lakehouse with Spark and pyiceberg: the integration tests run it against the local
stack. Usage: ``python -m dp_flink_jobs.lakehouse_check --table silver.some_table --rows 3 [--read-only]``.
Prints one JSON object: the rows Flink wrote and every row it then read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dp_core.config import find_config_dir, load_settings
from dp_core.errors import PlatformError


def run(table: str, rows: int, read_only: bool) -> dict[str, object]:
    loaded = load_settings(find_config_dir(Path.cwd(), os.environ), os.environ)
    from dp_flink.session import table_environment

    t_env = table_environment(loaded)
    catalog = loaded.settings.iceberg.catalog.name
    namespace, name = table.split(".", 1)
    fq = f"`{catalog}`.`{namespace}`.`{name}`"
    written = 0
    if not read_only:
        t_env.execute_sql(f"CREATE DATABASE IF NOT EXISTS `{catalog}`.`{namespace}`")
        t_env.execute_sql(f"CREATE TABLE IF NOT EXISTS {fq} (id BIGINT, engine STRING)")
        values = ", ".join(f"({i}, 'flink')" for i in range(1, rows + 1))
        t_env.execute_sql(f"INSERT INTO {fq} VALUES {values}").wait()  # noqa: S608
        written = rows
    # identifiers are quoted and come from the command line of this check, not from data
    with t_env.execute_sql(f"SELECT id, engine FROM {fq}").collect() as results:  # noqa: S608
        found = sorted([int(r[0]), str(r[1])] for r in results)
    return {"written": written, "rows": found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dp_flink_jobs.lakehouse_check", description=__doc__)
    parser.add_argument("--table", required=True, help="namespace.table in the shared Iceberg catalog")
    parser.add_argument("--rows", type=int, default=3, help="rows to write (ids 1..N, engine 'flink')")
    parser.add_argument("--read-only", action="store_true", help="only read the table")
    args = parser.parse_args(argv)
    if "." not in args.table:
        parser.error("--table must be namespace.table")
    try:
        print(json.dumps(run(args.table, args.rows, args.read_only)))  # noqa: T201 -- the result is the output
    except PlatformError as exc:
        print(f"Error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
