output "kms_key_arn" {
  description = "ARN of the environment's customer managed KMS key."
  value       = aws_kms_key.this.arn
}

output "role_arns" {
  description = "IAM role of each workload: collector, registry, api, console, ecs_execution, bronze, batch, stream, airflow."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail of the lakehouse data events."
  value       = aws_cloudtrail.lakehouse.arn
}
