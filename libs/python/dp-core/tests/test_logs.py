from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from dp_core.config import LoggingSettings
from dp_core.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_with_extras_and_exception() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(format="json", level="INFO"), stream=stream)
    log = logging.getLogger("dp.test")
    log.info("landed %d rows", 42, extra={"table": "silver.commerce__order_placed"})
    log.debug("hidden at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["message"] == "landed 42 rows"
    assert lines[0]["table"] == "silver.commerce__order_placed"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "dp.test"
    assert "ValueError: boom" in lines[1]["exc"]


def test_text_lines_and_per_logger_levels() -> None:
    stream = io.StringIO()
    configure_logging(LoggingSettings(level="DEBUG", loggers={"noisy": "ERROR"}), stream=stream)
    logging.getLogger("noisy").warning("suppressed")
    logging.getLogger("dp.x").debug("shown", extra={"topic": "t"})
    out = stream.getvalue()
    assert "suppressed" not in out
    assert " DEBUG   dp.x  shown  topic=t" in out
