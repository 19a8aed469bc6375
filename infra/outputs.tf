output "api_url" {
  description = "Base URL of the movies API (stage live)."
  value       = aws_api_gateway_stage.live.invoke_url
}

output "topic_arn" {
  description = "The events topic (EVENTS_TOPIC_ARN for publishers)."
  value       = aws_sns_topic.this["events"].arn
}

output "queue_url" {
  description = "The email queue."
  value       = local.email_queue.url
}

output "dlq_url" {
  description = "The email queue's DLQ."
  value       = local.email_dlq.url
}

output "queue_urls" {
  description = "Every declared queue, by key."
  value       = { for key, queue in local.queues : key => queue.url }
}

output "table_names" {
  description = "Every declared table, by key."
  value       = { for key, table in aws_dynamodb_table.this : key => table.name }
}

output "function_names" {
  description = "Every function, by key."
  value       = { for key, function in module.function : key => function.name }
}

output "alarm_topic_arn" {
  description = "Where the alarms notify: subscribe a pager or chat integration."
  value       = aws_sns_topic.alarms.arn
}
