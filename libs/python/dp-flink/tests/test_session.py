"""The JVM arguments a job's PyFlink gateway starts with (the job's real JVM is checked in the e2e tests)."""

from __future__ import annotations

import pytest

from dp_flink.session import jvm_args


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("", "-Xmx1024m"),
        ("-Xss2m -Dfoo=bar", "-Xss2m -Dfoo=bar -Xmx1024m"),
        ("-Xmx4g", "-Xmx4g"),  # a maximum the user set wins
        ("-Xss2m -Xmx4g", "-Xss2m -Xmx4g"),
    ],
)
def test_stream_jvm_heap_mb_becomes_the_jobs_maximum_heap_unless_one_is_set(current: str, expected: str) -> None:
    assert jvm_args(current, 1024) == expected
