# prod: zone-redundant everything, brokers and database sized for the 5,000 events/s target.
environment         = "prod"
region              = "eu-west-1"
data_classification = "confidential"

network = {
  cidr_block = "10.42.0.0/16"
}

# ACM certificate of *.prod.dtheinfra.internal (replace with yours)
certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

kafka = {
  broker_instance_type     = "kafka.m7g.large"
  broker_count             = 3
  broker_volume_gib        = 500
  topic_partitions         = 12
  topic_replication_factor = 3
}

database = {
  instance_class      = "db.m7g.large"
  allocated_gib       = 100
  multi_az            = true
  backup_retention    = 14
  deletion_protection = true
}

jobs = {
  emr_max_vcpu      = 64
  flink_parallelism = 4
  mwaa_class        = "mw1.medium"
  mwaa_max_workers  = 5
  bronze_archive_d  = 180
}

service_count = 3

images = {
  collector = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-prod/collector:latest"
  registry  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-prod/registry:latest"
  api       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-prod/api:latest"
  console   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-prod/console:latest"
}
