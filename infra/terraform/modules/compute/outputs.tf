output "service_urls" {
  description = "HTTPS URL of each service behind the internal ALB (collector, registry, api, console)."
  value       = local.urls
}

output "alb_dns_name" {
  description = "DNS name of the internal ALB."
  value       = aws_lb.this.dns_name
}

output "ecs_cluster_name" {
  description = "ECS cluster of the services."
  value       = aws_ecs_cluster.this.name
}

output "emr_application_id" {
  description = "EMR Serverless application of the Spark jobs and dbt."
  value       = aws_emrserverless_application.spark.id
}

output "flink_application_names" {
  description = "Managed Flink application of each PyFlink job."
  value       = { for job, app in aws_kinesisanalyticsv2_application.flink : job => app.name }
}

output "airflow_webserver_url" {
  description = "Private URL of the MWAA webserver."
  value       = "https://${aws_mwaa_environment.airflow.webserver_url}"
}

output "db_address" {
  description = "Host name of the PostgreSQL server (postgres.host)."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "Port of the PostgreSQL server (postgres.port)."
  value       = aws_db_instance.this.port
}

output "db_username" {
  description = "Master user of the PostgreSQL server (postgres.user)."
  value       = aws_db_instance.this.username
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master password in (DP_POSTGRES_PASSWORD)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "registry_secret_arn" {
  description = "Secret with the registry's basic-auth credentials (DP_REGISTRY_BASIC_AUTH_PASSWORD)."
  value       = aws_secretsmanager_secret.registry.arn
}
