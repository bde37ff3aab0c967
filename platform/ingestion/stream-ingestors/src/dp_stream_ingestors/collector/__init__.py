"""The HTTP collector (``dp ingest serve``): events posted over HTTP, checked against their contract, into Kafka.

``POST /v1/events/{contract}`` takes a JSON array of events, one event object, or NDJSON; valid events go to the
contract's topic, the others to its dead-letter topic; the answer is 202 with the counts and each rejected event's
errors. ``GET /healthz`` and ``GET /metrics`` (Prometheus) are for operations. See ``README.md`` here for the
statuses and guarantees.

* :func:`create_app` -- the FastAPI application (settings, contracts and a producer factory are passed in;
  nothing is read at import time);
* :func:`serve` -- the process: uvicorn until SIGTERM/SIGINT, then flush and a summary; returns the exit code.
"""

from dp_stream_ingestors.collector.app import create_app
from dp_stream_ingestors.collector.server import serve
from dp_stream_ingestors.collector.service import Collector, Summary, Tuning, kafka_producer

__all__ = ["Collector", "Summary", "Tuning", "create_app", "kafka_producer", "serve"]
