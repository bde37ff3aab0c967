"""DTHEINFRA batch layer: Kafka -> Bronze -> Silver -> Gold with PySpark on Iceberg."""
