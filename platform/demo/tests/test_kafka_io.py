"""The demo's read-back turns every Kafka failure into a DemoError (a clear message and exit code, no traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dp_core.config import find_repo_root, load_settings
from dp_demo import kafka_io
from dp_demo.errors import DemoError
from dp_ingest.errors import BrokerUnavailableError, IngestError
from dp_ingest.readback import ReadBackTimeoutError


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (ReadBackTimeoutError("slow"), "reading back the demo's topics took longer than 5 s"),
        (BrokerUnavailableError("Kafka at k:9092 unreachable"), "Kafka at k:9092 unreachable"),
        (IngestError("reading back t: fatal consumer error"), "reading back t: fatal consumer error"),
    ],
    ids=["timeout", "broker-down", "fatal-consumer-error"],
)
def test_a_failed_read_back_is_a_demo_error(
    monkeypatch: pytest.MonkeyPatch, failure: IngestError, message: str
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(kafka_io, "read_to_end", fail)
    settings = load_settings(find_repo_root(Path(__file__)) / "config", {}).settings
    with pytest.raises(DemoError) as raised:
        kafka_io.read_topics(settings, ["t"], run_id="r", timeout_s=5)
    assert str(raised.value) == message
