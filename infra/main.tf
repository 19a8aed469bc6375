# The declared deployment (moviepipe/deployment.py, exported as deployment.json) is the one source of
# names and settings; this file turns it into the values the resources below use.

locals {
  deployment = jsondecode(file("${path.module}/deployment.json"))

  name = { for kind in ["topics", "queues", "tables", "functions"] :
    kind => { for key, item in local.deployment[kind] : key => "${var.name_prefix}-${item.suffix}" }
  }

  settings = merge(local.deployment.settings, {
    email_sender     = coalesce(var.email_sender, local.deployment.settings.email_sender)
    email_recipients = coalesce(var.email_recipients, local.deployment.settings.email_recipients)
  })

  consumer = local.deployment.functions.email_notification
  relay    = local.deployment.functions.outbox_relay
  api      = local.deployment.functions.movies_api
  consumer_trigger = merge(local.consumer.trigger, {
    batch_size              = coalesce(var.batch_size, local.consumer.trigger.batch_size)
    batching_window_seconds = coalesce(var.batching_window_seconds, local.consumer.trigger.batching_window_seconds)
    maximum_concurrency     = coalesce(var.maximum_concurrency, local.consumer.trigger.maximum_concurrency)
  })
  max_receive_count = { for key, queue in local.deployment.queues :
    key => coalesce(var.max_receive_count, queue.max_receive_count) if queue.dead_letter_queue != null
  }

  package_dir  = coalesce(var.lambda_package_dir, "${path.module}/../build/lambda")
  package_file = "${local.package_dir}/${replace(local.deployment.package_file, "{architecture}", var.architecture)}"

  # What a function's environment refers to ("kind.key.attribute"), once the resources exist.
  refs = merge(
    { for key, topic in aws_sns_topic.this : "topic.${key}.arn" => topic.arn },
    { for key, topic in aws_sns_topic.this : "topic.${key}.name" => topic.name },
    { for key, queue in local.queues : "queue.${key}.url" => queue.url },
    { for key, queue in local.queues : "queue.${key}.arn" => queue.arn },
    { for key, queue in local.queues : "queue.${key}.name" => queue.name },
    { for key, table in aws_dynamodb_table.this : "table.${key}.name" => table.name },
    { for key, table in aws_dynamodb_table.this : "table.${key}.arn" => table.arn },
    { for key, setting in local.settings :
      "setting.${key}.value" => can(tolist(setting)) ? join(",", setting) : tostring(setting)
    },
  )

  environment = { for key, function in local.deployment.functions :
    key => { for variable, ref in function.environment : variable => local.refs[ref] }
  }
}

check "batching_window_for_large_batches" {
  assert {
    condition     = local.consumer_trigger.batch_size <= 10 || local.consumer_trigger.batching_window_seconds >= 1
    error_message = "An SQS batch_size above 10 needs batching_window_seconds of at least 1."
  }
}

check "visibility_timeout_covers_the_consumer" {
  assert {
    condition     = local.deployment.queues[local.consumer_trigger.queue].visibility_timeout_seconds >= 6 * local.consumer.timeout_seconds
    error_message = "The email queue's visibility timeout must be at least 6 x the consumer's timeout (AWS's advice for SQS event sources)."
  }
}
