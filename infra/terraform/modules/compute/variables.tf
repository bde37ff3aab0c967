variable "name" {
  description = "Name prefix of every resource, e.g. dtheinfra-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Platform environment the workloads load (DP_ENV): dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "vpc_id" {
  description = "VPC of the workloads."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC id."
  }
}

variable "subnet_ids" {
  description = "Private subnets of every workload, one per availability zone (MWAA uses the first two)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids: at least two subnets in different zones."
  }
}

variable "security_group_ids" {
  description = "Security groups from the networking module: keys alb, services, compute, rds."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["alb", "services", "compute", "rds"], keys(var.security_group_ids))) == 0
    error_message = "security_group_ids must have the keys alb, services, compute and rds."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key: logs, secrets, RDS storage and Performance Insights, MWAA."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "role_arns" {
  description = "Workload roles from the governance module: collector, registry, api, console, ecs_execution, bronze, batch, stream, airflow."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["collector", "registry", "api", "console", "ecs_execution", "stream", "airflow"], keys(var.role_arns))) == 0
    error_message = "role_arns must have the keys collector, registry, api, console, ecs_execution, stream and airflow."
  }
}

variable "lakehouse_bucket" {
  description = "Lakehouse bucket; the jobs' code is under code/ (code/flink/<job>.zip, code/airflow/dags/)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lakehouse_bucket))
    error_message = "lakehouse_bucket must be an S3 bucket name."
  }
}

variable "access_logs_bucket" {
  description = "Bucket of the ALB access logs (prefix alb/)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be an S3 bucket name."
  }
}

variable "private_zone_id" {
  description = "Route 53 private hosted zone of the service names."
  type        = string

  validation {
    condition     = length(var.private_zone_id) > 0
    error_message = "private_zone_id must not be empty."
  }
}

variable "private_domain" {
  description = "Domain of the private zone; each service answers at https://<service>.<domain>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.[a-z]+$", var.private_domain))
    error_message = "private_domain must be a DNS name such as prod.dtheinfra.internal."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of *.<private_domain> (ACM Private CA or imported) on the ALB's HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "scram_secret_arn" {
  description = "Secret with the Kafka SCRAM credentials (the streaming module's scram_secret_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.scram_secret_arn))
    error_message = "scram_secret_arn must be a Secrets Manager ARN."
  }
}

variable "registry_basic_auth_user" {
  description = "Basic-auth user of the schema registry (registry.basic_auth_user)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.registry_basic_auth_user))
    error_message = "registry_basic_auth_user: 1-64 letters, digits, dots, dashes, underscores."
  }
}

variable "services" {
  description = "Fargate services behind the internal ALB: image, port, size, count, health-check path, extra environment."
  type = map(object({
    image         = string
    port          = number
    cpu           = number
    memory        = number
    desired_count = number
    health_path   = string
    environment   = optional(map(string), {})
  }))

  validation {
    condition     = length(setsubtract(["collector", "registry", "api", "console"], keys(var.services))) == 0
    error_message = "services must define collector, registry, api and console."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : startswith(s.health_path, "/") && s.desired_count >= 1 && contains([256, 512, 1024, 2048, 4096], s.cpu)])
    error_message = "each service needs a health_path starting with /, desired_count >= 1 and a Fargate cpu (256-4096)."
  }
}

variable "emr_release_label" {
  description = "EMR Serverless release of the Spark application (Spark jobs and dbt)."
  type        = string
  default     = "emr-7.9.0"

  validation {
    condition     = can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", var.emr_release_label))
    error_message = "emr_release_label must look like emr-7.9.0."
  }
}

variable "emr_max_vcpu" {
  description = "Most vCPU the Spark application may hold at once (a cost ceiling)."
  type        = number
  default     = 32

  validation {
    condition     = var.emr_max_vcpu >= 4
    error_message = "emr_max_vcpu must be at least 4."
  }
}

variable "emr_idle_timeout_minutes" {
  description = "Minutes without a job after which the Spark application stops (it costs nothing stopped)."
  type        = number
  default     = 15

  validation {
    condition     = var.emr_idle_timeout_minutes >= 1
    error_message = "emr_idle_timeout_minutes must be at least 1."
  }
}

variable "flink_runtime" {
  description = "Managed Service for Apache Flink runtime of the PyFlink jobs."
  type        = string
  default     = "FLINK-1_20"

  validation {
    condition     = can(regex("^FLINK-1_[0-9]+$", var.flink_runtime))
    error_message = "flink_runtime must look like FLINK-1_20."
  }
}

variable "flink_jobs" {
  description = "The PyFlink jobs (enricher, aggregator): parallelism and parallelism per KPU; code at code/flink/<job>.zip."
  type = map(object({
    parallelism         = number
    parallelism_per_kpu = number
  }))
  default = {
    enricher   = { parallelism = 1, parallelism_per_kpu = 1 }
    aggregator = { parallelism = 1, parallelism_per_kpu = 1 }
  }

  validation {
    condition     = alltrue([for j in values(var.flink_jobs) : j.parallelism >= 1 && j.parallelism_per_kpu >= 1])
    error_message = "parallelism and parallelism_per_kpu must be at least 1."
  }
}

variable "airflow_version" {
  description = "Apache Airflow version of the MWAA environment."
  type        = string
  default     = "2.10.3"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.airflow_version))
    error_message = "airflow_version must look like 2.10.3."
  }
}

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.mwaa_environment_class)
    error_message = "mwaa_environment_class must be an MWAA class (mw1.micro ... mw1.2xlarge)."
  }
}

variable "mwaa_max_workers" {
  description = "Most MWAA workers."
  type        = number
  default     = 2

  validation {
    condition     = var.mwaa_max_workers >= 1 && var.mwaa_max_workers <= 25
    error_message = "mwaa_max_workers must be between 1 and 25."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL server (registry, Airflow and platform state)."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.t4g.medium."
  }
}

variable "db_engine_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-7]$", var.db_engine_version))
    error_message = "db_engine_version must be a PostgreSQL major version from 14 to 17."
  }
}

variable "db_allocated_storage_gib" {
  description = "Allocated gp3 storage of the database, GiB (grows automatically up to 4x)."
  type        = number
  default     = 50

  validation {
    condition     = var.db_allocated_storage_gib >= 20
    error_message = "db_allocated_storage_gib must be at least 20."
  }
}

variable "db_multi_az" {
  description = "Standby in a second zone."
  type        = bool
  default     = true
}

variable "db_username" {
  description = "Master user of the PostgreSQL server (postgres.user); its password is managed by RDS in Secrets Manager."
  type        = string
  default     = "dataplatform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username))
    error_message = "db_username: lower-case letters, digits and underscores, starting with a letter."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer against deletion."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the workloads' log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}
