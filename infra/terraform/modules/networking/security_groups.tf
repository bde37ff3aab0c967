# One security group per kind of workload. Every flow the platform uses is one row of local.flows: it becomes the
# egress rule of its source and the ingress rule of its destination; nothing else is open.

locals {
  groups = {
    endpoints = "Interface endpoints of the AWS APIs"
    alb       = "Internal application load balancer of the HTTP services"
    services  = "Fargate services: collector, schema registry, Data API, console"
    compute   = "EMR Serverless, Managed Flink and MWAA workers"
    msk       = "MSK brokers"
    rds       = "RDS PostgreSQL"
  }

  service_flows = [for svc, port in var.service_ports : { from = "alb", to = "services", port = port, what = "ALB to the ${svc} service" }]

  flows = concat(local.service_flows, [
    { from = "services", to = "alb", port = 443, what = "services call each other through the ALB (registry)" },
    { from = "compute", to = "alb", port = 443, what = "jobs call the schema registry through the ALB" },
    { from = "services", to = "msk", port = 9096, what = "Kafka clients, SASL/SCRAM over TLS" },
    { from = "services", to = "msk", port = 9098, what = "Kafka clients, IAM over TLS" },
    { from = "compute", to = "msk", port = 9096, what = "Kafka clients, SASL/SCRAM over TLS" },
    { from = "compute", to = "msk", port = 9098, what = "Kafka clients, IAM over TLS" },
    { from = "services", to = "rds", port = 5432, what = "registry and platform state in PostgreSQL" },
    { from = "compute", to = "rds", port = 5432, what = "Airflow tasks record platform state in PostgreSQL" },
    { from = "services", to = "endpoints", port = 443, what = "AWS APIs (Glue, STS, Secrets Manager, KMS, Logs)" },
    { from = "compute", to = "endpoints", port = 443, what = "AWS APIs (Glue, STS, Secrets Manager, KMS, Logs)" },
  ])
  flow_map = { for f in local.flows : "${f.from}-${f.to}-${f.port}" => f }

  # Workloads that reach AWS S3 (gateway endpoint prefix list) and, through the NAT gateways, public HTTPS
  # (container images, MWAA's Python requirements).
  https_out = ["services", "compute"]
}

data "aws_ec2_managed_prefix_list" "s3" {
  name = "com.amazonaws.${data.aws_region.current.region}.s3"
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:the groups are attached in the streaming and compute modules (via security_group_ids), which checkov does not follow
  for_each    = local.groups
  name        = "${var.name}-${each.key}"
  description = each.value
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-${each.key}" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "flow" {
  for_each                     = local.flow_map
  security_group_id            = aws_security_group.this[each.value.from].id
  referenced_security_group_id = aws_security_group.this[each.value.to].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.what
}

resource "aws_vpc_security_group_ingress_rule" "flow" {
  for_each                     = local.flow_map
  security_group_id            = aws_security_group.this[each.value.to].id
  referenced_security_group_id = aws_security_group.this[each.value.from].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.what
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_vpc" {
  security_group_id = aws_security_group.this["alb"].id
  cidr_ipv4         = var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS from inside the VPC (producers, operators through the VPN or a bastion)"
}

# MWAA needs its workers to reach each other; EMR Serverless and Managed Flink workers share the group.
resource "aws_vpc_security_group_ingress_rule" "compute_self" {
  #checkov:skip=CKV_AWS_24:the source is the compute group itself, not 0.0.0.0/0
  #checkov:skip=CKV_AWS_25:the source is the compute group itself, not 0.0.0.0/0
  #checkov:skip=CKV_AWS_260:the source is the compute group itself, not 0.0.0.0/0
  security_group_id            = aws_security_group.this["compute"].id
  referenced_security_group_id = aws_security_group.this["compute"].id
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  description                  = "workers of one compute service talk to each other (MWAA requires it)"
}

resource "aws_vpc_security_group_egress_rule" "compute_self" {
  security_group_id            = aws_security_group.this["compute"].id
  referenced_security_group_id = aws_security_group.this["compute"].id
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  description                  = "workers of one compute service talk to each other (MWAA requires it)"
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  for_each          = toset(local.https_out)
  security_group_id = aws_security_group.this[each.value].id
  prefix_list_id    = data.aws_ec2_managed_prefix_list.s3.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "S3 through the gateway endpoint"
}

resource "aws_vpc_security_group_egress_rule" "https_nat" {
  for_each          = toset(local.https_out)
  security_group_id = aws_security_group.this[each.value].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "public HTTPS through the NAT gateways: container images, MWAA requirements"
}
