"""The local stack: the platform's real services (Kafka, an S3 server, PostgreSQL, the Iceberg REST catalog,
Spark, Flink) fetched from the package registries and run as plain processes, with no Docker engine."""
