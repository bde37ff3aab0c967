variable "name" {
  description = "Name prefix of every resource, e.g. dtheinfra-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; /16 to /22. Private subnets take the first three /20s (or smaller), public subnets follow."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 22
    error_message = "cidr_block must be a valid IPv4 CIDR between /16 and /22."
  }
}

variable "az_count" {
  description = "Availability zones the subnets span (MSK needs one broker subnet per zone)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, not zone-redundant) instead of one per zone."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints (private DNS), besides the S3 gateway endpoint."
  type        = list(string)
  default     = ["glue", "sts", "secretsmanager", "kms", "logs"]

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints are service names such as glue, sts, secretsmanager, kms, logs, ecr.api."
  }
}

variable "private_domain" {
  description = "Private hosted zone of the environment's internal names (registry.<domain>, api.<domain>, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.[a-z]+$", var.private_domain))
    error_message = "private_domain must be a DNS name such as prod.dtheinfra.internal."
  }
}

variable "service_ports" {
  description = "Container port of each Fargate service behind the internal ALB (collector, registry, api, console)."
  type        = map(number)

  validation {
    condition     = alltrue([for p in values(var.service_ports) : p >= 1024 && p <= 65535])
    error_message = "service_ports must be unprivileged ports (1024-65535)."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key that encrypts the flow log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}
