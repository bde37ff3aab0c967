# Lake Formation grants per namespace: the same split as the IAM policies (Glue REST and credential vending check
# these). The catalog module registers the lakehouse location.

locals {
  read_db     = ["DESCRIBE"]
  write_db    = ["DESCRIBE", "CREATE_TABLE", "ALTER"]
  read_table  = ["DESCRIBE", "SELECT"]
  write_table = ["DESCRIBE", "SELECT", "INSERT", "DELETE", "ALTER"]

  # "<role>-<layer>" => the role, the layer and whether it writes there
  grants = merge(
    { for layer in ["bronze"] : "bronze-${layer}" => { role = "bronze", layer = layer, write = true } },
    { for layer in ["bronze"] : "batch-${layer}" => { role = "batch", layer = layer, write = false } },
    { for layer in ["silver", "gold"] : "batch-${layer}" => { role = "batch", layer = layer, write = true } },
    { for layer in ["silver"] : "stream-${layer}" => { role = "stream", layer = layer, write = true } },
    { for layer in ["silver", "gold"] : "api-${layer}" => { role = "api", layer = layer, write = false } },
    { for layer in ["silver", "gold"] : "console-${layer}" => { role = "console", layer = layer, write = false } },
  )
  writers = toset([for g in local.grants : g.role if g.write])
}

resource "aws_lakeformation_data_lake_settings" "this" {
  count  = length(var.lake_formation_admins) > 0 ? 1 : 0
  admins = var.lake_formation_admins
}

resource "aws_lakeformation_permissions" "database" {
  for_each    = local.grants
  principal   = aws_iam_role.this[each.value.role].arn
  permissions = each.value.write ? local.write_db : local.read_db

  database {
    name = var.namespaces[each.value.layer]
  }
}

resource "aws_lakeformation_permissions" "tables" {
  for_each    = local.grants
  principal   = aws_iam_role.this[each.value.role].arn
  permissions = each.value.write ? local.write_table : local.read_table

  table {
    database_name = var.namespaces[each.value.layer]
    wildcard      = true
  }
}

resource "aws_lakeformation_permissions" "location" {
  for_each    = local.writers
  principal   = aws_iam_role.this[each.value].arn
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = local.bucket_arn
  }
}
