"""Errors of the producer core."""

from __future__ import annotations

from dataclasses import dataclass

from dp_core.errors import PlatformError, TerminalError, TransientError


class IngestError(PlatformError):
    """Root of the ingestion errors."""


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one event: the field path, the rule it breaks, and a message."""

    path: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(event)'}: {self.message} [{self.rule}]"


class InvalidEventError(IngestError, TerminalError):
    """An event breaks its contract; it goes to the dead-letter topic with these errors."""

    def __init__(self, contract: str, errors: list[FieldError]) -> None:
        self.contract = contract
        self.errors = tuple(errors)
        super().__init__(f"{contract}: " + "; ".join(str(e) for e in errors))


class WireFormatError(IngestError, TerminalError):
    """Bytes that are not a Confluent-framed Avro record."""


class MessageTooLargeError(IngestError, TerminalError):
    """librdkafka refused a record as larger than its ``message.max.bytes`` (``MSG_SIZE_TOO_LARGE``).

    The producer core turns it into a per-event rejection (rule ``size``); it never means "retry"."""


class BackpressureError(IngestError, TransientError):
    """The producer's bounded buffer is full: retry later."""


class BrokerUnavailableError(IngestError, TransientError):
    """Kafka cannot be reached."""
