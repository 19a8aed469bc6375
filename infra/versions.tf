terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State stays on the machine that applies by default. docs/deploy.md shows the S3 backend with
  # locking as an override file (backend_override.tf) for shared deployments.
  backend "local" {}
}

# Plain on purpose: credentials, region overrides and endpoints (AWS_ENDPOINT_URL for the embedded
# AWS in the tests) come from the standard environment variables the provider honours.
provider "aws" {
  region = var.aws_region
}
