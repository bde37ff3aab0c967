"""`make demo` / `dp demo`: a seeded shop workload sent to Kafka, through the speed layer (PyFlink) and the batch
layer (PySpark) into Iceberg, with a report that reconciles every layer with what was sent."""
