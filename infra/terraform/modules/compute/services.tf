# The HTTP services on ECS Fargate behind one internal ALB (HTTPS, one host name per service in the private zone):
# the collector, the schema registry, the Data API and the console. The ALB checks each on its health route.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region
  urls   = { for svc in keys(var.services) : svc => "https://${svc}.${var.private_domain}" }

  # What every service reads besides its own environment: the platform environment and its secrets.
  common_environment = {
    DP_ENV             = var.environment
    AWS_REGION         = local.region
    AWS_DEFAULT_REGION = local.region
  }
  common_secrets = {
    DP_KAFKA_SASL_PASSWORD          = "${var.scram_secret_arn}:password::"
    DP_POSTGRES_PASSWORD            = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::"
    DP_REGISTRY_BASIC_AUTH_PASSWORD = "${aws_secretsmanager_secret.registry.arn}:password::"
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each          = var.services
  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_task_definition" "service" {
  for_each                 = var.services
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = var.role_arns["ecs_execution"]
  task_role_arn            = var.role_arns[each.key]

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([{
    name                   = each.key
    image                  = each.value.image
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = each.value.port, protocol = "tcp" }]
    environment            = [for k, v in merge(local.common_environment, each.value.environment) : { name = k, value = v }]
    secrets                = [for k, v in local.common_secrets : { name = k, valueFrom = v }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
        awslogs-region        = local.region
        awslogs-stream-prefix = each.key
      }
    }
  }])

  volume {
    name = "tmp"
  }
}

resource "aws_ecs_service" "service" {
  for_each                          = var.services
  name                              = each.key
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.service[each.key].arn
  desired_count                     = each.value.desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  # default_tags do not reach the tasks: the service hands its tags on.
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_ids["services"]]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.service[each.key].arn
    container_name   = each.key
    container_port   = each.value.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:internal load balancer reachable only from the VPC; no WAF in front of it
  name                       = "${var.name}-services"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [var.security_group_ids["alb"]]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "service" {
  #checkov:skip=CKV_AWS_378:TLS ends at the internal ALB; tasks answer plain HTTP inside the private subnets
  for_each    = var.services
  name        = substr("${var.name}-${each.key}", 0, 32)
  target_type = "ip"
  protocol    = "HTTP"
  port        = each.value.port
  vpc_id      = var.vpc_id

  health_check {
    path                = each.value.health_path
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "unknown host"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "service" {
  for_each     = var.services
  listener_arn = aws_lb_listener.https.arn

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service[each.key].arn
  }

  condition {
    host_header {
      values = ["${each.key}.${var.private_domain}"]
    }
  }
}

resource "aws_route53_record" "service" {
  for_each = var.services
  zone_id  = var.private_zone_id
  name     = "${each.key}.${var.private_domain}"
  type     = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

# The registry's basic-auth password, handed to every service as DP_REGISTRY_BASIC_AUTH_PASSWORD; drawn once, on
# create (later plans draw another, the stored version keeps the first).
data "aws_secretsmanager_random_password" "registry" {
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "registry" {
  #checkov:skip=CKV2_AWS_57:the registry reads its password at start; rotate by a new version and a service redeploy
  name        = "${var.name}/registry-basic-auth"
  description = "Basic-auth credentials of the schema registry (DP_REGISTRY_BASIC_AUTH_PASSWORD)"
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "registry" {
  secret_id     = aws_secretsmanager_secret.registry.id
  secret_string = jsonencode({ username = var.registry_basic_auth_user, password = data.aws_secretsmanager_random_password.registry.random_password })

  lifecycle {
    ignore_changes = [secret_string]
  }
}
