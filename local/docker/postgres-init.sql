-- One database per consumer, as `make local-up-core` creates them (postgres.databases in config/).
CREATE DATABASE iceberg_catalog OWNER dataplatform;
CREATE DATABASE schema_registry OWNER dataplatform;
CREATE DATABASE airflow OWNER dataplatform;
