# One environment of the platform: the six modules wired together. dev, staging and prod share this file (their
# folders link to it) and differ only in terraform.tfvars: names, sizes and resilience.

locals {
  name           = "dtheinfra-${var.environment}"
  private_domain = "${var.environment}.dtheinfra.internal"
  trail_name     = "${local.name}-lakehouse-data-events"

  # Each HTTP service: its port (the collector's is ingest.collector.port), its health route, its size.
  services = {
    collector = { port = 8090, health_path = "/healthz", cpu = 1024, memory = 2048, environment = { DP_INGEST_COLLECTOR__HOST = "0.0.0.0" } }
    registry  = { port = 8081, health_path = "/health", cpu = 512, memory = 1024, environment = { DP_REGISTRY_URL = "http://0.0.0.0:8081" } }
    api       = { port = 8000, health_path = "/healthz", cpu = 512, memory = 1024, environment = {} }
    console   = { port = 8080, health_path = "/healthz", cpu = 256, memory = 512, environment = {} }
  }
}

module "networking" {
  source = "../../modules/networking"

  name               = local.name
  cidr_block         = var.network.cidr_block
  az_count           = var.network.az_count
  single_nat_gateway = var.network.single_nat_gateway
  private_domain     = local.private_domain
  service_ports      = { for svc, s in local.services : svc => s.port }
  kms_key_arn        = module.governance.kms_key_arn
}

module "storage" {
  source = "../../modules/storage"

  name                = local.name
  kms_key_arn         = module.governance.kms_key_arn
  trail_name          = local.trail_name
  bronze_archive_days = var.jobs.bronze_archive_d
  force_destroy       = var.force_destroy
}

module "catalog" {
  source = "../../modules/catalog"

  warehouse_uri        = module.storage.warehouse_uri
  lakehouse_bucket_arn = module.storage.lakehouse_bucket_arn
  kms_key_arn          = module.governance.kms_key_arn
}

module "governance" {
  source = "../../modules/governance"

  name                  = local.name
  lakehouse_bucket      = "${local.name}-lakehouse"
  audit_bucket          = module.storage.audit_bucket
  namespaces            = module.catalog.databases
  msk_cluster_name      = local.name
  trail_name            = local.trail_name
  lake_formation_admins = var.lake_formation_admins
}

module "streaming" {
  source = "../../modules/streaming"

  name                     = local.name
  broker_instance_type     = var.kafka.broker_instance_type
  broker_count             = var.kafka.broker_count
  broker_volume_gib        = var.kafka.broker_volume_gib
  subnet_ids               = module.networking.private_subnet_ids
  security_group_id        = module.networking.security_group_ids["msk"]
  kms_key_arn              = module.governance.kms_key_arn
  scram_username           = local.name
  topic_partitions         = var.kafka.topic_partitions
  topic_replication_factor = var.kafka.topic_replication_factor
}

module "compute" {
  source = "../../modules/compute"

  name                     = local.name
  environment              = var.environment
  vpc_id                   = module.networking.vpc_id
  subnet_ids               = module.networking.private_subnet_ids
  security_group_ids       = module.networking.security_group_ids
  kms_key_arn              = module.governance.kms_key_arn
  role_arns                = module.governance.role_arns
  lakehouse_bucket         = module.storage.lakehouse_bucket
  access_logs_bucket       = module.storage.access_logs_bucket
  private_zone_id          = module.networking.private_zone_id
  private_domain           = local.private_domain
  certificate_arn          = var.certificate_arn
  scram_secret_arn         = module.streaming.scram_secret_arn
  registry_basic_auth_user = local.name
  services                 = { for svc, s in local.services : svc => merge(s, { image = var.images[svc], desired_count = var.service_count }) }
  emr_max_vcpu             = var.jobs.emr_max_vcpu
  flink_jobs               = { for job in ["enricher", "aggregator"] : job => { parallelism = var.jobs.flink_parallelism, parallelism_per_kpu = 1 } }
  mwaa_environment_class   = var.jobs.mwaa_class
  mwaa_max_workers         = var.jobs.mwaa_max_workers
  db_instance_class        = var.database.instance_class
  db_allocated_storage_gib = var.database.allocated_gib
  db_multi_az              = var.database.multi_az
  db_backup_retention_days = var.database.backup_retention
  deletion_protection      = var.database.deletion_protection
}
