# One Lambda function with its own role (only the statements given, plus writing its own logs and
# traces) and its own log group (/aws/lambda/<name>, where Lambda writes by default), created before
# the function so that the retention applies from the first invocation.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

variable "name" {
  type = string
}

variable "handler" {
  type = string
}

variable "runtime" {
  type = string
}

variable "architecture" {
  type = string
}

variable "package_file" {
  description = "The zip holding the handler's code."
  type        = string
}

variable "timeout_seconds" {
  type = number
}

variable "memory_mb" {
  type = number
}

variable "environment" {
  type = map(string)
}

variable "log_retention_days" {
  type = number
}

variable "statements" {
  description = "What the function may do: IAM statements with named actions (no wildcards) on named resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
  }))
}

data "aws_partition" "current" {}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts every log group at rest already; a customer managed key would add a key per deployment for logs that hold event ids and titles, no secrets.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default): these logs serve debugging, not audit; set it to 365 where policy asks.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "this" {
  name = "${var.name}-function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name = "least-privilege"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "OwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
        },
        {
          # X-Ray's trace APIs have no resource-level permissions: "*" is the only resource they take.
          Sid      = "Traces"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
          Resource = ["*"]
        },
      ],
      [for statement in var.statements : {
        Sid      = statement.sid
        Effect   = "Allow"
        Action   = statement.actions
        Resource = statement.resources
      }],
    )
  })
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_117:No VPC: the functions reach only AWS APIs (SNS, SQS, DynamoDB, SES) over their public endpoints; a VPC would add NAT costs and cold-start latency for no private resource.
  # checkov:skip=CKV_AWS_116:A function DLQ only catches failed asynchronous invocations; these run from an SQS queue (which has its own DLQ), a stream mapping (with an on-failure destination) and API Gateway (synchronous).
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the pipeline; the package comes from `make package` in the deploy workflow, whose integrity the OIDC-scoped role protects.
  # checkov:skip=CKV_AWS_173:The environment holds only resource names and addresses, no secret; Lambda encrypts it at rest with its service key already.
  # checkov:skip=CKV_AWS_115:Reserved concurrency would take capacity from the account's shared pool (as little as 10 on new accounts); the consumer's concurrency is bounded by its mapping's maximum_concurrency instead.
  function_name    = var.name
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  timeout          = var.timeout_seconds
  memory_size      = var.memory_mb

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

output "name" {
  value = aws_lambda_function.this.function_name
}

output "arn" {
  value = aws_lambda_function.this.arn
}

output "invoke_arn" {
  value = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  value = aws_iam_role.this.name
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.this.name
}
