variable "name" {
  description = "Name prefix of every resource, e.g. dtheinfra-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "lakehouse_bucket" {
  description = "Name of the lakehouse bucket (the storage module's lakehouse_bucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lakehouse_bucket))
    error_message = "lakehouse_bucket must be an S3 bucket name."
  }
}

variable "audit_bucket" {
  description = "Bucket CloudTrail writes to (the storage module's audit_bucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.audit_bucket))
    error_message = "audit_bucket must be an S3 bucket name."
  }
}

variable "namespaces" {
  description = "Glue database of each medallion layer (the catalog module's databases): keys bronze, silver, gold."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["bronze", "silver", "gold"], keys(var.namespaces))) == 0
    error_message = "namespaces must name the bronze, silver and gold databases."
  }
}

variable "msk_cluster_name" {
  description = "Name of the MSK cluster; IAM Kafka permissions are scoped to it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,64}$", var.msk_cluster_name))
    error_message = "msk_cluster_name: 1-64 letters, digits and dashes."
  }
}

variable "domains" {
  description = "Contract domains whose topics (<domain>.*) the collector writes and the jobs read."
  type        = list(string)
  default     = ["commerce"]

  validation {
    condition     = length(var.domains) > 0 && alltrue([for d in var.domains : can(regex("^[a-z][a-z0-9_]*$", d))])
    error_message = "domains: at least one, each lower-case letters, digits and underscores."
  }
}

variable "trail_name" {
  description = "Name of the CloudTrail trail of the lakehouse data events."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{3,128}$", var.trail_name))
    error_message = "trail_name: 3-128 letters, digits, dots, dashes, underscores."
  }
}

variable "lake_formation_admins" {
  description = "IAM principals made Lake Formation administrators; empty leaves the account's data lake settings alone."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.lake_formation_admins : can(regex("^arn:aws[a-z-]*:iam::", a))])
    error_message = "lake_formation_admins must be IAM role or user ARNs."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudTrail log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}

variable "key_deletion_window_days" {
  description = "Waiting period before the customer key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.key_deletion_window_days >= 7 && var.key_deletion_window_days <= 30
    error_message = "key_deletion_window_days must be between 7 and 30."
  }
}
