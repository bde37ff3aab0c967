# The jobs: one EMR Serverless application for the Spark batch layer and dbt (it costs nothing between runs), a
# Managed Service for Apache Flink application per PyFlink job (code from the lakehouse bucket), and MWAA for the
# Airflow DAGs (from code/airflow/dags/ in the lakehouse bucket).

locals {
  bucket_arn = "arn:aws:s3:::${var.lakehouse_bucket}"
}

resource "aws_emrserverless_application" "spark" {
  name          = "${var.name}-spark"
  release_label = var.emr_release_label
  type          = "spark"
  architecture  = "ARM64"

  maximum_capacity {
    cpu    = "${var.emr_max_vcpu} vCPU"
    memory = "${var.emr_max_vcpu * 4} GB"
  }

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.emr_idle_timeout_minutes
  }

  network_configuration {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_ids["compute"]]
  }
}

resource "aws_cloudwatch_log_group" "flink" {
  for_each          = var.flink_jobs
  name              = "/aws/kinesis-analytics/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "flink" {
  for_each       = var.flink_jobs
  name           = "application"
  log_group_name = aws_cloudwatch_log_group.flink[each.key].name
}

resource "aws_kinesisanalyticsv2_application" "flink" {
  for_each               = var.flink_jobs
  name                   = "${var.name}-${each.key}"
  runtime_environment    = var.flink_runtime
  service_execution_role = var.role_arns["stream"]

  application_configuration {
    application_code_configuration {
      code_content_type = "ZIPFILE"
      code_content {
        s3_content_location {
          bucket_arn = local.bucket_arn
          file_key   = "code/flink/${each.key}.zip"
        }
      }
    }

    environment_properties {
      property_group {
        property_group_id = "kinesis.analytics.flink.run.options"
        property_map = {
          python  = "dp_flink_jobs/run.py"
          jarfile = "lib/flink-jobs-deps.jar"
        }
      }
      property_group {
        property_group_id = "dtheinfra"
        property_map = {
          DP_ENV = var.environment
          job    = each.key
        }
      }
    }

    flink_application_configuration {
      checkpoint_configuration {
        configuration_type = "DEFAULT"
      }
      monitoring_configuration {
        configuration_type = "CUSTOM"
        log_level          = "INFO"
        metrics_level      = "APPLICATION"
      }
      parallelism_configuration {
        configuration_type   = "CUSTOM"
        auto_scaling_enabled = false
        parallelism          = each.value.parallelism
        parallelism_per_kpu  = each.value.parallelism_per_kpu
      }
    }

    vpc_configuration {
      subnet_ids         = var.subnet_ids
      security_group_ids = [var.security_group_ids["compute"]]
    }
  }

  cloudwatch_logging_options {
    log_stream_arn = aws_cloudwatch_log_stream.flink[each.key].arn
  }
}

resource "aws_mwaa_environment" "airflow" {
  name                  = "${var.name}-airflow"
  airflow_version       = var.airflow_version
  environment_class     = var.mwaa_environment_class
  max_workers           = var.mwaa_max_workers
  execution_role_arn    = var.role_arns["airflow"]
  source_bucket_arn     = local.bucket_arn
  dag_s3_path           = "code/airflow/dags/"
  kms_key               = var.kms_key_arn
  webserver_access_mode = "PRIVATE_ONLY"

  airflow_configuration_options = {
    "core.default_timezone" = "utc"
  }

  network_configuration {
    security_group_ids = [var.security_group_ids["compute"]]
    subnet_ids         = slice(var.subnet_ids, 0, 2)
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    webserver_logs {
      enabled   = true
      log_level = "WARNING"
    }
    worker_logs {
      enabled   = true
      log_level = "INFO"
    }
  }
}
