"""The root cause of a failed speed-layer job, from the JVM's text and the job's log."""

from __future__ import annotations

from pathlib import Path

from dp_flink.failure import LogWatch, root_cause

PYTHON_FAILURE = """\
2026-12-06 08:09:51,001 WARN  org.apache.flink.runtime.taskmanager.Task [] - Source: src (1/1) switched to FAILED
java.lang.RuntimeException: Failed to process element
\tat org.apache.flink.streaming.runtime.tasks.CopyingChainingOutput.pushToOperator(CopyingChainingOutput.java:92)
Caused by: pemja.core.PythonException: <class 'TypeError'>: 'NoneType' object is not iterable
\tat /venv/pyflink/fn_execution/embedded/converters.to_external(converters.py:168) ~[?:?]
2026-12-06 08:09:59,001 ERROR org.apache.flink.runtime.minicluster.MiniCluster [] - shutting down
Caused by: java.lang.IllegalStateException: MiniCluster is not yet running or has already been shut down.
"""

JAVA_FAILURE = """\
org.apache.flink.runtime.client.JobExecutionException: Job execution failed.
Caused by: org.apache.flink.runtime.JobException: Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy
Caused by: org.apache.iceberg.exceptions.RESTException: Unable to process: connection refused
"""


def test_the_first_python_exception_wins_over_the_wrappers() -> None:
    assert root_cause(PYTHON_FAILURE) == "TypeError: 'NoneType' object is not iterable"


def test_else_the_deepest_java_cause_that_is_not_a_wrapper() -> None:
    assert root_cause(JAVA_FAILURE) == (
        "org.apache.iceberg.exceptions.RESTException: Unable to process: connection refused"
    )
    assert root_cause("Caused by: java.lang.IllegalStateException: MiniCluster is not yet running") is None
    assert root_cause("") is None


def test_the_log_watch_reads_only_what_this_run_wrote(tmp_path: Path) -> None:
    old = tmp_path / "flink-root-python-host.log"
    old.write_text(PYTHON_FAILURE)  # an earlier run's failure
    watch = LogWatch(tmp_path)
    assert watch.new_text() == ("", None)
    with old.open("a") as handle:
        handle.write(JAVA_FAILURE)
    text, path = watch.new_text()
    assert path == old and root_cause(text) == (
        "org.apache.iceberg.exceptions.RESTException: Unable to process: connection refused"
    )
    assert LogWatch(tmp_path / "missing").new_text() == ("", None)
