# staging: prod's shape (zone-redundant NAT, multi-AZ database) at a smaller size.
environment = "staging"
region      = "eu-west-1"

network = {
  cidr_block = "10.41.0.0/16"
}

# ACM certificate of *.staging.dtheinfra.internal (replace with yours)
certificate_arn = "arn:aws:acm:eu-west-1:222222222222:certificate/00000000-0000-0000-0000-000000000000"

kafka = {
  broker_instance_type     = "kafka.m7g.large"
  broker_count             = 3
  broker_volume_gib        = 100
  topic_partitions         = 6
  topic_replication_factor = 3
}

database = {
  instance_class      = "db.t4g.medium"
  allocated_gib       = 50
  multi_az            = true
  backup_retention    = 7
  deletion_protection = true
}

jobs = {
  emr_max_vcpu      = 32
  flink_parallelism = 2
  mwaa_class        = "mw1.small"
  mwaa_max_workers  = 2
  bronze_archive_d  = 90
}

service_count = 2

images = {
  collector = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-staging/collector:latest"
  registry  = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-staging/registry:latest"
  api       = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-staging/api:latest"
  console   = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-staging/console:latest"
}
