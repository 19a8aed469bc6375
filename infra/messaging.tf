# SNS topic → SQS queues (raw delivery, filter on Type) → DLQs, as declared.

resource "aws_sns_topic" "this" {
  for_each = local.deployment.topics

  name              = local.name.topics[each.key]
  kms_master_key_id = each.value.kms_master_key
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  # A queue's own ARN is known before the queue exists, so its policy goes into the one CreateQueue
  # call (moto, unlike AWS, drops a queue's policy whenever another attribute is set later).
  queue_arn = { for key, name in local.name.queues :
    key => "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${name}"
  }
  # Only the topic may send to a subscribed queue.
  queue_policy = { for key, subscription in local.deployment.subscriptions :
    subscription.queue => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "TopicSendsOnly"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn[subscription.queue]
        Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.this[subscription.topic].arn } }
      }]
    })
  }
  queues = merge(aws_sqs_queue.terminal, aws_sqs_queue.redriven)
}

# Queues without a DLQ of their own (the DLQs among them), created first: SQS refuses a redrive
# policy whose target does not exist yet.
resource "aws_sqs_queue" "terminal" {
  for_each = { for key, queue in local.deployment.queues : key => queue if queue.dead_letter_queue == null }

  name                       = local.name.queues[each.key]
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.retention_seconds
  sqs_managed_sse_enabled    = true
  policy                     = lookup(local.queue_policy, each.key, null)
}

resource "aws_sqs_queue" "redriven" {
  for_each = { for key, queue in local.deployment.queues : key => queue if queue.dead_letter_queue != null }

  name                       = local.name.queues[each.key]
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = each.value.retention_seconds
  sqs_managed_sse_enabled    = true
  policy                     = lookup(local.queue_policy, each.key, null)
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.terminal[each.value.dead_letter_queue].arn
    maxReceiveCount     = local.max_receive_count[each.key]
  })
}

# Only the declared source queues may use a DLQ. Off only where the AWS API at hand lacks it (moto's
# SQS does not know the RedriveAllowPolicy attribute): see var.redrive_allow_policy.
resource "aws_sqs_queue_redrive_allow_policy" "this" {
  for_each = { for key, queue in local.deployment.queues : key => queue if var.redrive_allow_policy && length(queue.dead_letter_for) > 0 }

  queue_url = local.queues[each.key].url
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [for source in each.value.dead_letter_for : local.queues[source].arn]
  })
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.deployment.subscriptions

  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = local.queues[each.value.queue].arn
  raw_message_delivery = each.value.raw_message_delivery
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = jsonencode(each.value.filter_policy)
}
