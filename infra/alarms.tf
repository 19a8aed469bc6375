# Alarms on what needs a person: a dead letter, a queue falling behind, a function failing, the outbox
# relay lagging its stream. They notify the alarm topic.

resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key costs a key per deployment; alarm messages carry only metric names and values.
  name = "${var.name_prefix}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  # An empty string counts as none too: the workflows pass an unset repository variable as "".
  count = local.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = local.alarm_email
}

locals {
  alarm_email   = var.alarm_email == null ? "" : trimspace(var.alarm_email)
  alarm_actions = [aws_sns_topic.alarms.arn]
  # Queues nobody consumes: anything in them waits for a person.
  dead_letter_queues = { for key, queue in local.deployment.queues :
    key => local.queues[key].name
    if length(queue.dead_letter_for) > 0 || key == local.relay.trigger.on_failure_queue
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "Messages wait in ${each.value}: see docs/consumer.md for replaying them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  alarm_name          = "${local.email_queue.name}-oldest-message"
  alarm_description   = "The email queue's oldest message is older than ${var.oldest_message_alarm_seconds} s: the consumer is failing or throttled."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = local.email_queue.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = module.function

  alarm_name          = "${each.value.name}-errors"
  alarm_description   = "${each.value.name} failed invocations (partial batch failures are not errors; a crash or timeout is)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${module.function["outbox_relay"].name}-iterator-age"
  alarm_description   = "The outbox relay lags the Movies stream by more than ${var.iterator_age_alarm_ms} ms: events are delayed, and lost after 24 hours."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = module.function["outbox_relay"].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
