"""DTHEINFRA speed layer on PyFlink. Runs in its own environment (.runtime/venvs/flink-jobs)."""
