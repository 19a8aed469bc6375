# The movies API: an API Gateway REST API proxying every path and method to the function, stage
# "live" (as declared), throttled, traced and access-logged.

locals {
  http = local.api.trigger
}

resource "aws_api_gateway_rest_api" "movies" {
  name        = local.name.functions["movies_api"]
  description = "moviepipe movies API (${local.api.handler})"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.movies.id
  parent_id   = aws_api_gateway_rest_api.movies.root_resource_id
  path_part   = "{proxy+}"
}

locals {
  api_resources = {
    root  = aws_api_gateway_rest_api.movies.root_resource_id
    proxy = aws_api_gateway_resource.proxy.id
  }
}

resource "aws_api_gateway_method" "any" {
  # checkov:skip=CKV2_AWS_53:The function validates every request body against the contract itself (strict pydantic models, 400 with the field named); a second, API Gateway model would drift from it.
  for_each = local.api_resources

  rest_api_id   = aws_api_gateway_rest_api.movies.id
  resource_id   = each.value
  http_method   = "ANY"
  authorization = var.api_authorization
}

resource "aws_api_gateway_integration" "function" {
  for_each = local.api_resources

  rest_api_id             = aws_api_gateway_rest_api.movies.id
  resource_id             = each.value
  http_method             = aws_api_gateway_method.any[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.function["movies_api"].invoke_arn
}

resource "aws_api_gateway_deployment" "movies" {
  rest_api_id = aws_api_gateway_rest_api.movies.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.proxy.id,
      [for method in aws_api_gateway_method.any : [method.id, method.authorization]],
      [for integration in aws_api_gateway_integration.function : [integration.id, integration.uri]],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  # checkov:skip=CKV_AWS_158:Access logs hold request metadata only (no bodies); the default CloudWatch Logs encryption at rest applies, a customer managed key would cost a key per deployment.
  # checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default): the logs serve debugging, not audit; set it to 365 where policy asks.
  name              = "/aws/apigateway/${local.name.functions["movies_api"]}"
  retention_in_days = var.log_retention_days
}

# API Gateway writes access logs only once the account (per region) names a role it may log with. That
# setting is account-wide: turn api_gateway_account_role off where another stack already manages it.
resource "aws_iam_role" "api_gateway_logs" {
  count = var.api_gateway_account_role ? 1 : 0

  name = "${var.name_prefix}-apigateway-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "api_gateway_logs" {
  count = var.api_gateway_account_role ? 1 : 0

  name = "write-api-logs"
  role = aws_iam_role.api_gateway_logs[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AccessLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = ["${aws_cloudwatch_log_group.api_access.arn}:*"]
      },
      {
        # API Gateway checks the role by listing log groups, an action without resource-level permissions.
        Sid      = "FindLogGroups"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = ["*"]
      },
    ]
  })
}

resource "aws_api_gateway_account" "this" {
  count = var.api_gateway_account_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_logs[0].arn
  depends_on          = [aws_iam_role_policy.api_gateway_logs]
}

resource "aws_api_gateway_stage" "live" {
  # checkov:skip=CKV_AWS_120:No cache: the API serves ETag-versioned movies and conditional writes; a cached GET would hand out stale versions.
  # checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to an HTTP backend; the backend here is Lambda, invoked with IAM.
  # checkov:skip=CKV2_AWS_29:No WAF: access is IAM-authorised by default and throttled per stage; a web ACL costs a monthly fee per deployment.
  # checkov:skip=CKV2_AWS_4:Execution logging needs the account-wide API Gateway CloudWatch role, which one stack should not own; access logs are enabled instead.
  deployment_id        = aws_api_gateway_deployment.movies.id
  rest_api_id          = aws_api_gateway_rest_api.movies.id
  stage_name           = local.http.stage
  xray_tracing_enabled = true
  depends_on           = [aws_api_gateway_account.this]

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      method    = "$context.httpMethod"
      path      = "$context.resourcePath"
      status    = "$context.status"
      latency   = "$context.responseLatency"
    })
  }
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225:No cache, see the stage.
  # checkov:skip=CKV_AWS_308:No cache, so nothing cached to encrypt.
  rest_api_id = aws_api_gateway_rest_api.movies.id
  stage_name  = aws_api_gateway_stage.live.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_burst_limit = local.http.throttling_burst_limit
    throttling_rate_limit  = local.http.throttling_rate_limit
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = module.function["movies_api"].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.movies.execution_arn}/*/*"
}
