variable "namespaces" {
  description = "Glue database (Iceberg namespace) of each medallion layer, as iceberg.namespaces says: keys bronze, silver, gold."
  type        = map(string)
  default     = { bronze = "bronze", silver = "silver", gold = "gold" }

  validation {
    condition     = length(setsubtract(["bronze", "silver", "gold"], keys(var.namespaces))) == 0 && alltrue([for db in values(var.namespaces) : can(regex("^[a-z_][a-z0-9_]{0,254}$", db))])
    error_message = "namespaces must map bronze, silver and gold to Glue database names (lower-case letters, digits, underscores)."
  }
}

variable "warehouse_uri" {
  description = "S3 prefix under which each database keeps its tables (the storage module's warehouse_uri, ending in /)."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]+[a-z0-9]/.*/$", var.warehouse_uri))
    error_message = "warehouse_uri must look like s3://<bucket>/<prefix>/."
  }
}

variable "lakehouse_bucket_arn" {
  description = "ARN of the lakehouse bucket, registered with Lake Formation."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::", var.lakehouse_bucket_arn))
    error_message = "lakehouse_bucket_arn must be an S3 bucket ARN."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key of the Glue Data Catalog encryption settings."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "manage_catalog_encryption" {
  description = "Set the account's Glue Data Catalog encryption (a per-account, per-region singleton): false where another stack owns it."
  type        = bool
  default     = true
}
