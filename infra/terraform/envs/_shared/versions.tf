# Remote state in S3 with S3-native locking. Nothing about the state bucket is committed: pass it at init,
#   terraform init -backend-config=bucket=<state bucket> -backend-config=key=dtheinfra/<env>.tfstate \
#                  -backend-config=region=<region>
# (docs/deploy-aws.md). use_lockfile needs Terraform >= 1.10 or OpenTofu >= 1.10 at init time.
terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  # Every AWS resource that takes tags gets these. Where default_tags do not reach (ECS tasks, RDS snapshots,
  # resources AWS services create themselves) the modules hand tags on explicitly.
  default_tags {
    tags = {
      owner               = var.owner
      environment         = var.environment
      data-classification = var.data_classification
      project             = "dtheinfra"
      managed-by          = "terraform"
    }
  }
}
