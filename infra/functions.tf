# The three functions, each with only the permissions its code uses, and their triggers.

locals {
  email_queue    = local.queues[local.consumer_trigger.queue]
  email_dlq      = local.queues[local.deployment.queues[local.consumer_trigger.queue].dead_letter_queue]
  relay_failures = local.queues[local.relay.trigger.on_failure_queue]
  movies_table   = aws_dynamodb_table.this[local.relay.trigger.table]

  statements = {
    email_notification = [
      {
        sid       = "ReceiveFromItsQueue"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
        resources = [local.email_queue.arn]
      },
      {
        # Permanent failures go to the DLQ at once, with their reason.
        sid       = "DeadLetter"
        actions   = ["sqs:SendMessage"]
        resources = [local.email_dlq.arn]
      },
      {
        sid       = "IdempotencyRecords"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = [aws_dynamodb_table.this["idempotency"].arn]
      },
      {
        # SES v2 SendEmail with raw content is authorised as both actions, on the identity and on
        # the configuration set the identity sends through.
        sid       = "SendEmail"
        actions   = ["ses:SendEmail", "ses:SendRawEmail"]
        resources = concat([aws_sesv2_email_identity.sender.arn], aws_sesv2_configuration_set.email[*].arn)
      },
    ]
    movies_api = [
      {
        sid       = "MoviesTable"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
        resources = [local.movies_table.arn]
      },
      {
        # Idempotency-Key on POST: Powertools keeps each key's record in the idempotency table.
        sid       = "IdempotencyKeys"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = [aws_dynamodb_table.this["idempotency"].arn]
      },
    ]
    outbox_relay = [
      {
        sid       = "ReadTheStream"
        actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        resources = [local.movies_table.stream_arn]
      },
      {
        # ListStreams takes no resource but "*" (the IAM reference lists none for it).
        sid       = "ListStreams"
        actions   = ["dynamodb:ListStreams"]
        resources = ["*"]
      },
      {
        sid       = "PublishEvents"
        actions   = ["sns:Publish"]
        resources = [aws_sns_topic.this["events"].arn]
      },
      {
        # The stream mapping's on-failure destination is written with the function's role.
        sid       = "OnFailureDestination"
        actions   = ["sqs:SendMessage"]
        resources = [local.relay_failures.arn]
      },
    ]
  }
}

module "function" {
  source   = "./modules/function"
  for_each = local.deployment.functions

  name               = local.name.functions[each.key]
  handler            = each.value.handler
  runtime            = local.deployment.runtime
  architecture       = var.architecture
  package_file       = local.package_file
  timeout_seconds    = each.value.timeout_seconds
  memory_mb          = each.value.memory_mb
  environment        = local.environment[each.key]
  log_retention_days = var.log_retention_days
  statements         = local.statements[each.key]
}

resource "aws_lambda_event_source_mapping" "email" {
  function_name                      = module.function["email_notification"].arn
  event_source_arn                   = local.email_queue.arn
  batch_size                         = local.consumer_trigger.batch_size
  maximum_batching_window_in_seconds = local.consumer_trigger.batching_window_seconds
  function_response_types            = local.consumer_trigger.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  scaling_config {
    maximum_concurrency = local.consumer_trigger.maximum_concurrency
  }
}

resource "aws_lambda_event_source_mapping" "relay" {
  function_name                      = module.function["outbox_relay"].arn
  event_source_arn                   = local.movies_table.stream_arn
  starting_position                  = local.relay.trigger.starting_position
  batch_size                         = local.relay.trigger.batch_size
  maximum_batching_window_in_seconds = local.relay.trigger.batching_window_seconds
  bisect_batch_on_function_error     = local.relay.trigger.bisect_batch_on_function_error
  maximum_retry_attempts             = local.relay.trigger.maximum_retry_attempts
  maximum_record_age_in_seconds      = local.relay.trigger.maximum_record_age_seconds
  parallelization_factor             = local.relay.trigger.parallelization_factor
  function_response_types            = local.relay.trigger.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  destination_config {
    on_failure {
      destination_arn = local.relay_failures.arn
    }
  }
}
