# Amazon MSK: brokers in the private subnets, TLS between clients and brokers and between brokers, encryption at
# rest with the customer key, SASL/SCRAM (the platform's clients, port 9096) and IAM (port 9098) authentication,
# broker logs in CloudWatch Logs, and the topic defaults of the platform as the cluster configuration.

locals {
  server_properties = {
    "auto.create.topics.enable"      = "false"
    "num.partitions"                 = tostring(var.topic_partitions)
    "default.replication.factor"     = tostring(var.topic_replication_factor)
    "min.insync.replicas"            = tostring(max(1, var.topic_replication_factor - 1))
    "unclean.leader.election.enable" = "false"
    "allow.everyone.if.no.acl.found" = "false"
  }
}

resource "aws_msk_configuration" "this" {
  name              = "${var.name}-topic-defaults"
  kafka_versions    = [var.kafka_version]
  server_properties = join("\n", [for k, v in local.server_properties : "${k}=${v}"])

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = "PER_TOPIC_PER_BROKER"

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [var.security_group_id]

    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gib
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
      iam   = true
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }
}

# The SCRAM user of the platform's clients. MSK reads it from a secret named AmazonMSK_* under a customer key. The
# password is drawn once, on create; later plans draw another but the stored version keeps the first (ignore_changes).
data "aws_secretsmanager_random_password" "scram" {
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "scram" {
  #checkov:skip=CKV2_AWS_57:MSK cannot rotate SCRAM secrets; rotate by writing a new version and re-associating
  name        = "AmazonMSK_${var.name}-scram"
  description = "SASL/SCRAM credentials of the platform's Kafka clients (DP_KAFKA_SASL_PASSWORD)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id     = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({ username = var.scram_username, password = data.aws_secretsmanager_random_password.scram.random_password })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]

  depends_on = [aws_secretsmanager_secret_version.scram]
}
