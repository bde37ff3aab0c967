variable "environment" {
  description = "Environment name: dev, staging or prod (DP_ENV of the workloads, config/environments/<env>.yaml)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as eu-west-1."
  }
}

variable "owner" {
  description = "Team that owns the environment (the owner tag)."
  type        = string
  default     = "data-platform"

  validation {
    condition     = length(var.owner) > 0
    error_message = "owner must not be empty."
  }
}

variable "data_classification" {
  description = "Default data-classification tag; the lakehouse bucket is always tagged confidential."
  type        = string
  default     = "internal"

  validation {
    condition     = contains(["public", "internal", "confidential", "restricted"], var.data_classification)
    error_message = "data_classification must be public, internal, confidential or restricted."
  }
}

variable "network" {
  description = "VPC CIDR, zones, and whether one NAT gateway serves every zone (cheaper, not zone-redundant)."
  type = object({
    cidr_block         = string
    az_count           = optional(number, 3)
    single_nat_gateway = optional(bool, false)
  })
}

variable "certificate_arn" {
  description = "ACM certificate of *.<environment>.dtheinfra.internal for the internal ALB (ACM Private CA or imported)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "kafka" {
  description = "MSK size and the topic defaults (kafka.topics.* of the config)."
  type = object({
    broker_instance_type     = string
    broker_count             = number
    broker_volume_gib        = number
    topic_partitions         = number
    topic_replication_factor = number
  })
}

variable "database" {
  description = "RDS PostgreSQL size and resilience."
  type = object({
    instance_class      = string
    allocated_gib       = number
    multi_az            = bool
    backup_retention    = number
    deletion_protection = bool
  })
}

variable "jobs" {
  description = "Sizes of the jobs: EMR Serverless vCPU ceiling, Flink parallelism per job, MWAA class and workers, days until Bronze files are archived."
  type = object({
    emr_max_vcpu      = number
    flink_parallelism = number
    mwaa_class        = string
    mwaa_max_workers  = number
    bronze_archive_d  = number
  })
}

variable "images" {
  description = "Container image of each service (collector, registry, api, console), e.g. <account>.dkr.ecr.<region>.amazonaws.com/dtheinfra-prod/collector:<tag>."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["collector", "registry", "api", "console"], keys(var.images))) == 0
    error_message = "images must name the collector, registry, api and console images."
  }
}

variable "service_count" {
  description = "Tasks per service."
  type        = number
  default     = 2

  validation {
    condition     = var.service_count >= 1
    error_message = "service_count must be at least 1."
  }
}

variable "lake_formation_admins" {
  description = "IAM principals made Lake Formation administrators; empty leaves the account's settings alone."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let terraform destroy non-empty buckets (dev only)."
  type        = bool
  default     = false
}
