output "databases" {
  description = "Glue database of each layer (bronze, silver, gold)."
  value       = { for layer, db in aws_glue_catalog_database.this : layer => db.name }
}

output "catalog_type" {
  description = "Catalog type every engine uses (iceberg.catalog.type): rest."
  value       = "rest"
}

output "rest_uri" {
  description = "Glue Iceberg REST endpoint of the region (iceberg.catalog.uri)."
  value       = local.rest_uri
}

output "warehouse" {
  description = "Warehouse of the Glue REST catalog: the account's catalog id (iceberg.catalog.warehouse)."
  value       = data.aws_caller_identity.current.account_id
}

output "catalog_properties" {
  description = "SigV4 properties of the REST catalog (iceberg.catalog.properties)."
  value       = local.properties
}
