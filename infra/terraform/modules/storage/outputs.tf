output "lakehouse_bucket" {
  description = "Name of the lakehouse bucket (storage.warehouse_bucket)."
  value       = aws_s3_bucket.data["lakehouse"].id
}

output "lakehouse_bucket_arn" {
  description = "ARN of the lakehouse bucket."
  value       = aws_s3_bucket.data["lakehouse"].arn
}

output "warehouse_uri" {
  description = "S3 prefix under which the Glue databases keep their Iceberg tables (s3://<bucket>/warehouse/)."
  value       = "s3://${aws_s3_bucket.data["lakehouse"].id}/warehouse/"
}

output "checkpoints_uri" {
  description = "S3 prefix of the streaming checkpoints (stream.checkpoint_dir)."
  value       = "s3://${aws_s3_bucket.data["lakehouse"].id}/checkpoints/"
}

output "code_prefix" {
  description = "Key prefix in the lakehouse bucket of the jobs' code (Spark, PyFlink, dbt, Airflow DAGs)."
  value       = "code/"
}

output "access_logs_bucket" {
  description = "Bucket of the S3 server access logs (prefix s3/) and the ALB access logs (prefix alb/)."
  value       = aws_s3_bucket.logs.id
}

output "audit_bucket" {
  description = "Bucket CloudTrail writes the lakehouse data events to."
  value       = aws_s3_bucket.data["audit"].id
}
