# What `dp config from-terraform` reads (terraform output -json): each output names the config key it sets.

output "region" {
  description = "storage.region and the SigV4 signing region."
  value       = var.region
}

output "kafka_bootstrap_brokers_sasl_scram" {
  description = "kafka.bootstrap_servers (SASL/SCRAM over TLS, port 9096)."
  value       = module.streaming.bootstrap_brokers_sasl_scram
}

output "kafka_scram_username" {
  description = "kafka.sasl_username; the password is in kafka_scram_secret_arn (DP_KAFKA_SASL_PASSWORD)."
  value       = module.streaming.scram_username
}

output "kafka_scram_secret_arn" {
  description = "Secret with the SCRAM username and password."
  value       = module.streaming.scram_secret_arn
}

output "kafka_topic_partitions" {
  description = "kafka.topics.partitions."
  value       = module.streaming.topic_partitions
}

output "kafka_topic_replication_factor" {
  description = "kafka.topics.replication_factor."
  value       = module.streaming.topic_replication_factor
}

output "lakehouse_bucket" {
  description = "storage.warehouse_bucket."
  value       = module.storage.lakehouse_bucket
}

output "stream_checkpoint_dir" {
  description = "stream.checkpoint_dir."
  value       = module.storage.checkpoints_uri
}

output "iceberg_catalog_type" {
  description = "iceberg.catalog.type."
  value       = module.catalog.catalog_type
}

output "iceberg_rest_uri" {
  description = "iceberg.catalog.uri: the Glue Iceberg REST endpoint."
  value       = module.catalog.rest_uri
}

output "iceberg_warehouse" {
  description = "iceberg.catalog.warehouse: the Glue catalog id (the account)."
  value       = module.catalog.warehouse
}

output "iceberg_catalog_properties" {
  description = "iceberg.catalog.properties: SigV4 signing of the REST calls."
  value       = module.catalog.catalog_properties
}

output "iceberg_namespaces" {
  description = "iceberg.namespaces: the Glue database of each layer."
  value       = module.catalog.databases
}

output "registry_url" {
  description = "registry.url."
  value       = module.compute.service_urls["registry"]
}

output "registry_basic_auth_user" {
  description = "registry.basic_auth_user; the password is in registry_secret_arn (DP_REGISTRY_BASIC_AUTH_PASSWORD)."
  value       = local.name
}

output "registry_secret_arn" {
  description = "Secret with the registry's basic-auth credentials."
  value       = module.compute.registry_secret_arn
}

output "postgres_host" {
  description = "postgres.host."
  value       = module.compute.db_address
}

output "postgres_port" {
  description = "postgres.port."
  value       = module.compute.db_port
}

output "postgres_user" {
  description = "postgres.user; the password is in postgres_secret_arn (DP_POSTGRES_PASSWORD)."
  value       = module.compute.db_username
}

output "postgres_secret_arn" {
  description = "Secret RDS keeps the master password in."
  value       = module.compute.db_master_secret_arn
}

output "collector_url" {
  description = "The HTTP collector (GET /healthz)."
  value       = module.compute.service_urls["collector"]
}

output "api_url" {
  description = "The Data API (GET /healthz)."
  value       = module.compute.service_urls["api"]
}

output "console_url" {
  description = "The console (GET /healthz)."
  value       = module.compute.service_urls["console"]
}

output "airflow_webserver_url" {
  description = "The MWAA webserver (private)."
  value       = module.compute.airflow_webserver_url
}

output "emr_application_id" {
  description = "EMR Serverless application of the Spark jobs and dbt."
  value       = module.compute.emr_application_id
}

output "flink_application_names" {
  description = "Managed Flink application of each PyFlink job."
  value       = module.compute.flink_application_names
}

output "job_role_arns" {
  description = "Execution roles of the EMR Serverless jobs: bronze (Kafka to Bronze), batch (Bronze to Silver and Gold)."
  value       = { bronze = module.governance.role_arns["bronze"], batch = module.governance.role_arns["batch"] }
}

output "ecs_cluster_name" {
  description = "ECS cluster of the services."
  value       = module.compute.ecs_cluster_name
}
