output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets, one per availability zone, in zone order."
  value       = [for az in local.azs : aws_subnet.private[az].id]
}

output "public_subnet_ids" {
  description = "Public subnets (NAT gateways only), one per availability zone, in zone order."
  value       = [for az in local.azs : aws_subnet.public[az].id]
}

output "security_group_ids" {
  description = "Security group of each kind of workload: endpoints, alb, services, compute, msk, rds."
  value       = { for k, sg in aws_security_group.this : k => sg.id }
}

output "private_zone_id" {
  description = "Route 53 private hosted zone of the internal service names."
  value       = aws_route53_zone.private.zone_id
}

output "private_domain" {
  description = "Domain of the private hosted zone."
  value       = var.private_domain
}
