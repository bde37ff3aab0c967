# One IAM role per workload, each with exactly the data it touches. Statements are rows of local.policies; the
# lakehouse is reached by key prefix (warehouse/<database>/, checkpoints/, code/), never with a wildcard action.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition
  trail_arn = "arn:${local.partition}:cloudtrail:${local.region}:${local.account}:trail/${var.trail_name}"

  bucket_arn = "arn:${local.partition}:s3:::${var.lakehouse_bucket}"
  tables     = { for layer, db in var.namespaces : layer => "${local.bucket_arn}/warehouse/${db}/*" }
  prefixes   = { for layer, db in var.namespaces : layer => "warehouse/${db}/*" }

  glue     = "arn:${local.partition}:glue:${local.region}:${local.account}"
  glue_dbs = { for layer, db in var.namespaces : layer => ["${local.glue}:database/${db}", "${local.glue}:table/${db}/*"] }
  kafka    = "arn:${local.partition}:kafka:${local.region}:${local.account}"
  cluster  = "${local.kafka}:cluster/${var.msk_cluster_name}/*"
  topics   = [for d in var.domains : "${local.kafka}:topic/${var.msk_cluster_name}/*/${d}.*"]
  groups   = "${local.kafka}:group/${var.msk_cluster_name}/*/*"
  txn_ids  = "${local.kafka}:transactional-id/${var.msk_cluster_name}/*/*"
  secrets  = "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret"
  # the SCRAM secret of the Kafka clients (the streaming module names it AmazonMSK_<name>-scram)
  scram_secret = "${local.secrets}:AmazonMSK_${var.name}-scram-*"
  log_group    = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group"

  glue_read  = ["glue:GetCatalog", "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables"]
  glue_write = concat(local.glue_read, ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"])
  s3_read    = ["s3:GetObject", "s3:GetObjectVersion"]
  s3_write   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
  key_use    = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]

  # Who assumes each role.
  principals = {
    collector     = ["ecs-tasks.amazonaws.com"]
    registry      = ["ecs-tasks.amazonaws.com"]
    api           = ["ecs-tasks.amazonaws.com"]
    console       = ["ecs-tasks.amazonaws.com"]
    ecs_execution = ["ecs-tasks.amazonaws.com"]
    bronze        = ["emr-serverless.amazonaws.com"]
    batch         = ["emr-serverless.amazonaws.com"]
    stream        = ["kinesisanalytics.amazonaws.com"]
    airflow       = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
  }

  kafka_connect = { sid = "KafkaConnect", actions = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], resources = [local.cluster] }
  kafka_read    = { sid = "KafkaReadTopics", actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources = local.topics }
  kafka_groups  = { sid = "KafkaConsumerGroups", actions = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources = [local.groups] }
  key           = { sid = "UseTheKey", actions = local.key_use, resources = [aws_kms_key.this.arn] }
  lf_access     = { sid = "LakeFormationCredentials", actions = ["lakeformation:GetDataAccess"], resources = ["*"] }
  code_read     = { sid = "ReadJobCode", actions = local.s3_read, resources = ["${local.bucket_arn}/code/*"] }
  scram_read    = { sid = "KafkaScramSecret", actions = ["secretsmanager:GetSecretValue"], resources = [local.scram_secret] }

  policies = {
    # The collector writes its domains' topics (Kafka ACLs govern SCRAM clients; this covers IAM auth).
    collector = [
      local.kafka_connect,
      { sid = "KafkaWriteTopics", actions = ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:WriteDataIdempotently"], resources = local.topics },
    ]
    # The registry keeps its state in PostgreSQL; it touches no AWS data.
    registry = []
    # The Data API and the console read Silver and Gold.
    api = [
      { sid = "GlueReadSilverGold", actions = local.glue_read, resources = concat(["${local.glue}:catalog"], local.glue_dbs["silver"], local.glue_dbs["gold"]) },
      { sid = "ListSilverGold", actions = ["s3:ListBucket"], resources = [local.bucket_arn], conditions = [{ test = "StringLike", variable = "s3:prefix", values = [local.prefixes["silver"], local.prefixes["gold"]] }] },
      { sid = "ReadSilverGold", actions = local.s3_read, resources = [local.tables["silver"], local.tables["gold"]] },
      local.lf_access,
      local.key,
    ]
    console = [
      { sid = "GlueReadSilverGold", actions = local.glue_read, resources = concat(["${local.glue}:catalog"], local.glue_dbs["silver"], local.glue_dbs["gold"]) },
      { sid = "ListSilverGold", actions = ["s3:ListBucket"], resources = [local.bucket_arn], conditions = [{ test = "StringLike", variable = "s3:prefix", values = [local.prefixes["silver"], local.prefixes["gold"]] }] },
      { sid = "ReadSilverGold", actions = local.s3_read, resources = [local.tables["silver"], local.tables["gold"]] },
      local.lf_access,
      local.key,
    ]
    # Pulls images, writes the services' logs and hands them their secrets (Kafka SCRAM, PostgreSQL, registry).
    ecs_execution = [
      { sid = "EcrAuth", actions = ["ecr:GetAuthorizationToken"], resources = ["*"] },
      { sid = "EcrPull", actions = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], resources = ["arn:${local.partition}:ecr:${local.region}:${local.account}:repository/${var.name}/*"] },
      { sid = "Logs", actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["${local.log_group}:/ecs/${var.name}/*:*"] },
      { sid = "Secrets", actions = ["secretsmanager:GetSecretValue"], resources = [local.scram_secret, "${local.secrets}:${var.name}/*", "${local.secrets}:rds!db-*"] },
      local.key,
    ]
    # Kafka -> Bronze: reads the domains' topics, writes Bronze only.
    bronze = [
      local.kafka_connect, local.kafka_read, local.kafka_groups,
      { sid = "GlueWriteBronze", actions = local.glue_write, resources = concat(["${local.glue}:catalog"], local.glue_dbs["bronze"]) },
      { sid = "ListBronze", actions = ["s3:ListBucket"], resources = [local.bucket_arn], conditions = [{ test = "StringLike", variable = "s3:prefix", values = [local.prefixes["bronze"], "code/*"] }] },
      { sid = "WriteBronze", actions = local.s3_write, resources = [local.tables["bronze"]] },
      local.code_read, local.scram_read, local.lf_access, local.key,
    ]
    # Bronze -> Silver -> Gold (and dbt on Gold): reads Bronze, writes Silver and Gold.
    batch = [
      { sid = "GlueReadBronze", actions = local.glue_read, resources = concat(["${local.glue}:catalog"], local.glue_dbs["bronze"]) },
      { sid = "GlueWriteSilverGold", actions = local.glue_write, resources = concat(["${local.glue}:catalog"], local.glue_dbs["silver"], local.glue_dbs["gold"]) },
      { sid = "ListLayers", actions = ["s3:ListBucket"], resources = [local.bucket_arn], conditions = [{ test = "StringLike", variable = "s3:prefix", values = [local.prefixes["bronze"], local.prefixes["silver"], local.prefixes["gold"], "code/*"] }] },
      { sid = "ReadBronze", actions = local.s3_read, resources = [local.tables["bronze"]] },
      { sid = "WriteSilverGold", actions = local.s3_write, resources = [local.tables["silver"], local.tables["gold"]] },
      local.code_read, local.lf_access, local.key,
    ]
    # The speed layer: reads the topics, writes the enriched topic and Silver, keeps its checkpoints.
    stream = [
      local.kafka_connect, local.kafka_read, local.kafka_groups,
      { sid = "KafkaWriteEnriched", actions = ["kafka-cluster:WriteData", "kafka-cluster:WriteDataIdempotently"], resources = local.topics },
      { sid = "KafkaTransactions", actions = ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"], resources = [local.txn_ids] },
      { sid = "GlueWriteSilver", actions = local.glue_write, resources = concat(["${local.glue}:catalog"], local.glue_dbs["silver"]) },
      { sid = "ListSilverCheckpoints", actions = ["s3:ListBucket"], resources = [local.bucket_arn], conditions = [{ test = "StringLike", variable = "s3:prefix", values = [local.prefixes["silver"], "checkpoints/*", "code/*"] }] },
      { sid = "WriteSilverCheckpoints", actions = local.s3_write, resources = [local.tables["silver"], "${local.bucket_arn}/checkpoints/*"] },
      local.code_read, local.scram_read, local.lf_access, local.key,
      { sid = "VpcDescribe", actions = ["ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces"], resources = ["*"] },
      { sid = "VpcInterfaces", actions = ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"], resources = ["arn:${local.partition}:ec2:${local.region}:${local.account}:*"] },
      { sid = "Logs", actions = ["logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents"], resources = ["${local.log_group}:/aws/kinesis-analytics/${var.name}-*:*"] },
    ]
    # MWAA: reads its DAGs, runs the jobs (EMR Serverless, Managed Flink), writes its logs and metrics.
    airflow = [
      { sid = "PublishMetrics", actions = ["airflow:PublishMetrics"], resources = ["arn:${local.partition}:airflow:${local.region}:${local.account}:environment/${var.name}-airflow"] },
      { sid = "ListDags", actions = ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPublicAccessBlock", "s3:GetAccountPublicAccessBlock", "s3:GetEncryptionConfiguration"], resources = [local.bucket_arn] },
      { sid = "ReadDags", actions = local.s3_read, resources = ["${local.bucket_arn}/code/airflow/*"] },
      { sid = "Logs", actions = ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults", "logs:DescribeLogGroups"], resources = ["${local.log_group}:airflow-${var.name}-airflow-*"] },
      { sid = "CeleryQueue", actions = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"], resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"] },
      { sid = "RunSparkJobs", actions = ["emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun", "emr-serverless:GetApplication", "emr-serverless:StartApplication"], resources = ["arn:${local.partition}:emr-serverless:${local.region}:${local.account}:/applications/*"] },
      { sid = "PassJobRoles", actions = ["iam:PassRole"], resources = [aws_iam_role.this["bronze"].arn, aws_iam_role.this["batch"].arn], conditions = [{ test = "StringEquals", variable = "iam:PassedToService", values = ["emr-serverless.amazonaws.com"] }] },
      { sid = "RunFlinkApps", actions = ["kinesisanalytics:DescribeApplication", "kinesisanalytics:StartApplication", "kinesisanalytics:StopApplication"], resources = ["arn:${local.partition}:kinesisanalytics:${local.region}:${local.account}:application/${var.name}-*"] },
      { sid = "PlatformSecrets", actions = ["secretsmanager:GetSecretValue"], resources = [local.scram_secret, "${local.secrets}:${var.name}/*", "${local.secrets}:rds!db-*"] },
      local.key,
    ]
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = local.principals

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = each.value
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.principals
  name               = "${var.name}-${replace(each.key, "_", "-")}"
  description        = "${var.name}: the ${each.key} workload"
  assume_role_policy = data.aws_iam_policy_document.assume[each.key].json
}

data "aws_iam_policy_document" "workload" {
  #checkov:skip=CKV_AWS_356:"*" only where the action has no resource type (ecr:GetAuthorizationToken, ec2:Describe*, lakeformation:GetDataAccess)
  #checkov:skip=CKV_AWS_111:write access is scoped by key prefix, topic pattern or database; ENI creation needs account-wide ec2 ARNs
  for_each = { for k, v in local.policies : k => v if length(v) > 0 }

  dynamic "statement" {
    for_each = each.value
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = lookup(statement.value, "conditions", [])
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "workload" {
  for_each = data.aws_iam_policy_document.workload
  name     = "${var.name}-${replace(each.key, "_", "-")}"
  role     = aws_iam_role.this[each.key].id
  policy   = each.value.json
}
