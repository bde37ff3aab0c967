variable "name" {
  description = "Name prefix of every resource, e.g. dtheinfra-prod; the cluster is <name>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.8.x"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.([0-9]+|x)(\\.kraft)?$", var.kafka_version))
    error_message = "kafka_version must be an MSK version such as 3.8.x or 3.7.x.kraft."
  }
}

variable "broker_instance_type" {
  description = "Instance type of the brokers."
  type        = string
  default     = "kafka.m7g.large"

  validation {
    condition     = can(regex("^kafka\\.", var.broker_instance_type))
    error_message = "broker_instance_type must be an MSK instance type (kafka.t3.small, kafka.m7g.large, ...)."
  }
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets."
  type        = number
  default     = 3

  validation {
    condition     = var.broker_count >= 2
    error_message = "broker_count must be at least 2."
  }
}

variable "broker_volume_gib" {
  description = "EBS storage per broker, GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.broker_volume_gib >= 1 && var.broker_volume_gib <= 16384
    error_message = "broker_volume_gib must be between 1 and 16384."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the brokers, one per availability zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids: at least two subnets in different zones."
  }
}

variable "security_group_id" {
  description = "Security group of the brokers (the networking module's msk group)."
  type        = string

  validation {
    condition     = startswith(var.security_group_id, "sg-")
    error_message = "security_group_id must be a security group id."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key: data at rest, the SCRAM secret and the broker log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "scram_username" {
  description = "SASL/SCRAM user of the platform's clients (kafka.sasl_username)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.scram_username))
    error_message = "scram_username: 1-64 letters, digits, dots, dashes, underscores."
  }
}

variable "topic_partitions" {
  description = "Default partitions of a new topic (kafka.topics.partitions)."
  type        = number
  default     = 3

  validation {
    condition     = var.topic_partitions >= 1
    error_message = "topic_partitions must be at least 1."
  }
}

variable "topic_replication_factor" {
  description = "Default replication factor of a new topic (kafka.topics.replication_factor); at most broker_count."
  type        = number
  default     = 3

  validation {
    condition     = var.topic_replication_factor >= 2
    error_message = "topic_replication_factor must be at least 2 on MSK."
  }
}

variable "log_retention_days" {
  description = "Retention of the broker log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}
