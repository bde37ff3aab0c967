"""The DAGs' integrity check (``python -m dp_orchestration.integrity DAGS_FOLDER REPORT``): each DAG file parsed alone,
timed, and its DAGs' shape written as one JSON document to the file REPORT (Airflow logs to stdout).

Per file: import errors, parse seconds, and which heavy engine modules the parse imported (none should be: a DAG
file is parsed every few seconds by the DAG processor); per DAG: owner, tags, the retries of each task, schedule.
The platform's unit tests run it with this environment's Python and assert on the report.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

#: engines a DAG file must not import while it is parsed (their work belongs in the tasks' processes)
HEAVY_MODULES = ("pyspark", "pyflink", "pyiceberg", "confluent_kafka", "dbt", "duckdb", "fastavro", "pandas")


def check_file(path: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    before = set(sys.modules)
    began = time.perf_counter()
    bag = DagBag(dag_folder=str(path), safe_mode=False)
    seconds = time.perf_counter() - began
    loaded = set(sys.modules) - before
    heavy = sorted({m.split(".")[0] for m in loaded if m.split(".")[0] in HEAVY_MODULES})
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "owners": sorted({t.owner for t in dag.tasks}),
            "tags": sorted(dag.tags or []),
            "retries": {t.task_id: t.retries for t in dag.tasks},
            "tasks": len(dag.tasks),
            "max_active_runs": dag.max_active_runs,
            "schedule": str(getattr(dag, "timetable", None).__class__.__name__),
            "has_failure_callback": all(bool(getattr(t, "on_failure_callback", None)) for t in dag.tasks),
        }
    return {
        "file": path.name,
        "seconds": round(seconds, 3),
        "errors": {Path(k).name: str(v).splitlines()[-1] if str(v) else "" for k, v in bag.import_errors.items()},
        "heavy_modules": heavy,
        "dags": dags,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m dp_orchestration.integrity DAGS_FOLDER REPORT", file=sys.stderr)  # noqa: T201
        return 2
    folder, out = Path(argv[0]), Path(argv[1])
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    # airflow itself (and cosmos, which every Gold DAG renders with) imported once first: what is timed is the file
    import airflow.sdk  # noqa: F401

    report = [check_file(path) for path in files]
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
