"""The JVM arguments a job's PyFlink gateway starts with (the job's real JVM is checked in the e2e tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_flink.session import jvm_args, with_tmpdir


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


def test_the_gateway_jvm_keeps_its_temporary_files_in_the_scratch_folder(tmp_path: Path) -> None:
    assert with_tmpdir("-Xmx1024m", tmp_path) == f"-Xmx1024m -Djava.io.tmpdir={tmp_path}"
    assert with_tmpdir("-Djava.io.tmpdir=/mine", tmp_path) == "-Djava.io.tmpdir=/mine"  # the user's choice wins
