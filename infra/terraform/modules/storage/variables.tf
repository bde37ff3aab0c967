variable "name" {
  description = "Name prefix of every resource, e.g. dtheinfra-prod; the lakehouse bucket is <name>-lakehouse."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key (SSE-KMS) of the lakehouse and audit buckets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "bronze_archive_days" {
  description = "Days after which Bronze's files move to Glacier Instant Retrieval; deleting old Bronze rows is Iceberg's job."
  type        = number
  default     = 90

  validation {
    condition     = var.bronze_archive_days >= 30
    error_message = "bronze_archive_days must be at least 30."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before it expires (Iceberg keeps its own snapshots)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "log_retention_days" {
  description = "Days S3 access logs, ALB logs and CloudTrail files are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 90
    error_message = "log_retention_days must be at least 90."
  }
}

variable "trail_name" {
  description = "Name of the CloudTrail trail allowed to write to the audit bucket (the governance module creates it)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{3,128}$", var.trail_name))
    error_message = "trail_name: 3-128 letters, digits, dots, dashes, underscores."
  }
}

variable "data_classification" {
  description = "data-classification tag of the lakehouse bucket (overrides the provider's default tag)."
  type        = string
  default     = "confidential"

  validation {
    condition     = contains(["public", "internal", "confidential", "restricted"], var.data_classification)
    error_message = "data_classification must be public, internal, confidential or restricted."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy non-empty buckets (dev only)."
  type        = bool
  default     = false
}
