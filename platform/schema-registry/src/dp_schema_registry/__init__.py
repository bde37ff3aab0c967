"""DTHEINFRA schema registry (Confluent-compatible REST API for Avro schemas)."""
