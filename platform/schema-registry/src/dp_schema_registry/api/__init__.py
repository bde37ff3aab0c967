"""The HTTP edge: Confluent's Schema Registry REST API on FastAPI, one router per resource."""

from dp_schema_registry.api.app import create_app

__all__ = ["create_app"]
