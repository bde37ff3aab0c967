# dev: the smallest footprint that runs the whole platform -- one NAT gateway, small brokers, a single-AZ database
# that may be torn down, one task per service. See docs/deploy-aws.md for what it costs.
environment   = "dev"
region        = "eu-west-1"
force_destroy = true

network = {
  cidr_block         = "10.40.0.0/16"
  single_nat_gateway = true
}

# ACM certificate of *.dev.dtheinfra.internal (replace with yours)
certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"

kafka = {
  broker_instance_type     = "kafka.t3.small"
  broker_count             = 3
  broker_volume_gib        = 20
  topic_partitions         = 3
  topic_replication_factor = 3
}

database = {
  instance_class      = "db.t4g.micro"
  allocated_gib       = 20
  multi_az            = false
  backup_retention    = 1
  deletion_protection = false
}

jobs = {
  emr_max_vcpu      = 8
  flink_parallelism = 1
  mwaa_class        = "mw1.micro"
  mwaa_max_workers  = 1
  bronze_archive_d  = 30
}

service_count = 1

images = {
  collector = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-dev/collector:latest"
  registry  = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-dev/registry:latest"
  api       = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-dev/api:latest"
  console   = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/dtheinfra-dev/console:latest"
}
