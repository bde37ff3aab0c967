output "cluster_name" {
  description = "Name of the MSK cluster."
  value       = aws_msk_cluster.this.cluster_name
}

output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "host:port list of the brokers for SASL/SCRAM over TLS (kafka.bootstrap_servers)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "bootstrap_brokers_sasl_iam" {
  description = "host:port list of the brokers for IAM authentication over TLS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "scram_username" {
  description = "SASL/SCRAM user of the platform's clients (kafka.sasl_username)."
  value       = var.scram_username
}

output "scram_secret_arn" {
  description = "Secrets Manager secret holding the SCRAM username and password (JSON keys username, password)."
  value       = aws_secretsmanager_secret.scram.arn
}

output "topic_partitions" {
  description = "Default partitions of a new topic (kafka.topics.partitions)."
  value       = var.topic_partitions
}

output "topic_replication_factor" {
  description = "Default replication factor of a new topic (kafka.topics.replication_factor)."
  value       = var.topic_replication_factor
}
