# The lakehouse bucket (Bronze/Silver/Gold tables under warehouse/, streaming checkpoints, the jobs' code), the
# access-log bucket every bucket and the ALB log to, and the audit bucket CloudTrail writes the data events to.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_elb_service_account" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition
  trail_arn = "arn:${local.partition}:cloudtrail:${local.region}:${local.account}:trail/${var.trail_name}"

  # SSE-KMS buckets with the customer key, logged to the access-log bucket. The access-log bucket is apart: S3
  # server access logs and ALB logs can only be written to SSE-S3 buckets. Every bucket gets versioning, a public
  # access block, a TLS-only policy and a lifecycle.
  data_buckets = {
    lakehouse = "${var.name}-lakehouse"
    audit     = "${var.name}-audit"
  }
  buckets = merge(local.data_buckets, { logs = "${var.name}-access-logs" })
}

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:cross-region replication is a disaster-recovery choice left to each team (Iceberg metadata holds absolute paths)
  #checkov:skip=CKV2_AWS_62:no consumer of S3 event notifications; jobs are scheduled by Airflow
  for_each      = local.data_buckets
  bucket        = each.value
  force_destroy = var.force_destroy

  tags = each.key == "lakehouse" ? { data-classification = var.data_classification } : {}
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it to itself would loop
  #checkov:skip=CKV_AWS_144:access logs are not replicated
  #checkov:skip=CKV_AWS_145:S3 server access logs and ALB access logs can only be delivered to SSE-S3 buckets
  #checkov:skip=CKV2_AWS_62:no consumer of S3 event notifications on logs
  bucket        = "${var.name}-access-logs"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value

  rule {
    object_ownership = "BucketOwnerEnforced"
  }

  depends_on = [aws_s3_bucket.data, aws_s3_bucket.logs]
}

resource "aws_s3_bucket_public_access_block" "data" {
  for_each                = aws_s3_bucket.data
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = aws_s3_bucket.data
  bucket   = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = aws_s3_bucket.data
  bucket   = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = aws_s3_bucket.data
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${each.value.id}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = aws_s3_bucket.data
  bucket   = each.value.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  # Bronze's data files move to Glacier Instant Retrieval (read in milliseconds: the tables stay whole). Removing
  # old Bronze rows is Iceberg's job (delete, expire snapshots): an S3 expiry of live files would break the tables.
  dynamic "rule" {
    for_each = each.key == "lakehouse" ? [1] : []
    content {
      id     = "bronze-archive"
      status = "Enabled"
      filter {
        prefix = "warehouse/bronze/"
      }
      transition {
        days          = var.bronze_archive_days
        storage_class = "GLACIER_IR"
      }
    }
  }

  dynamic "rule" {
    for_each = each.key == "audit" ? [1] : []
    content {
      id     = "expire-audit-logs"
      status = "Enabled"
      filter {}
      expiration {
        days = var.log_retention_days
      }
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# --- bucket policies: TLS only everywhere, plus the log writers of the log buckets ---

locals {
  logs_arn  = "arn:${local.partition}:s3:::${local.buckets["logs"]}"
  audit_arn = "arn:${local.partition}:s3:::${local.buckets["audit"]}"
  by_trail  = { test = "StringEquals", variable = "aws:SourceArn", values = [local.trail_arn] }

  # bucket key => the services that deliver logs into it, one row per statement
  writers = {
    lakehouse = []
    logs = [
      { sid = "S3ServerAccessLogs", actions = ["s3:PutObject"], resources = ["${local.logs_arn}/s3/*"], type = "Service", who = ["logging.s3.amazonaws.com"], conditions = [{ test = "StringEquals", variable = "aws:SourceAccount", values = [local.account] }] },
      { sid = "AlbAccessLogs", actions = ["s3:PutObject"], resources = ["${local.logs_arn}/alb/AWSLogs/${local.account}/*"], type = "AWS", who = [data.aws_elb_service_account.current.arn], conditions = [] },
    ]
    audit = [
      { sid = "CloudTrailAclCheck", actions = ["s3:GetBucketAcl"], resources = [local.audit_arn], type = "Service", who = ["cloudtrail.amazonaws.com"], conditions = [local.by_trail] },
      { sid = "CloudTrailWrite", actions = ["s3:PutObject"], resources = ["${local.audit_arn}/AWSLogs/${local.account}/*"], type = "Service", who = ["cloudtrail.amazonaws.com"], conditions = [local.by_trail, { test = "StringEquals", variable = "s3:x-amz-acl", values = ["bucket-owner-full-control"] }] },
    ]
  }
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "arn:${local.partition}:s3:::${each.value}",
      "arn:${local.partition}:s3:::${each.value}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = local.writers[each.key]
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
      principals {
        type        = statement.value.type
        identifiers = statement.value.who
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets
  bucket   = each.value
  policy   = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket.data, aws_s3_bucket.logs, aws_s3_bucket_public_access_block.data, aws_s3_bucket_public_access_block.logs]
}
