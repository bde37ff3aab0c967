# The Iceberg catalog on AWS: one Glue database per namespace, the lakehouse location registered with Lake
# Formation, and the Glue Iceberg REST endpoint every engine reaches with SigV4 -- the same catalog type (REST) as
# the local stack, so only configuration changes between a laptop and AWS.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  region   = data.aws_region.current.region
  rest_uri = "https://glue.${local.region}.amazonaws.com/iceberg"
  # The client properties of the REST catalog: iceberg.catalog.properties of the environment's config.
  properties = {
    "rest.sigv4-enabled"  = "true"
    "rest.signing-name"   = "glue"
    "rest.signing-region" = local.region
  }
}

resource "aws_glue_catalog_database" "this" {
  for_each     = var.namespaces
  name         = each.value
  description  = "Iceberg namespace of the ${each.key} layer"
  location_uri = "${var.warehouse_uri}${each.value}/"

  # Lake Formation grants decide access, not the IAMAllowedPrincipals default.
  create_table_default_permission {
    permissions = []
  }
}

resource "aws_lakeformation_resource" "lakehouse" {
  arn                     = var.lakehouse_bucket_arn
  use_service_linked_role = true
}

resource "aws_glue_data_catalog_encryption_settings" "this" {
  count = var.manage_catalog_encryption ? 1 : 0

  data_catalog_encryption_settings {
    connection_password_encryption {
      return_connection_password_encrypted = true
      aws_kms_key_id                       = var.kms_key_arn
    }
    encryption_at_rest {
      catalog_encryption_mode = "SSE-KMS"
      sse_aws_kms_key_id      = var.kms_key_arn
    }
  }
}
