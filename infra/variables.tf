# Settings left null take the value of the declared deployment (deployment.json, generated from
# moviepipe/deployment.py), so the declaration stays the one place where they are written down.

variable "name_prefix" {
  description = "Prefix of every resource name: <name_prefix>-<suffix>."
  type        = string
  default     = "moviepipe"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: 2 to 31 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "aws_region" {
  description = "The region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "email_sender" {
  description = "The From address of the notification emails; Terraform creates its SES identity, AWS mails it a verification link. Null: the declared default."
  type        = string
  default     = null
}

variable "email_recipients" {
  description = "Who gets the notification emails (at most 50). Null: the declared default."
  type        = list(string)
  default     = null

  validation {
    condition     = var.email_recipients == null ? true : (length(var.email_recipients) > 0 && length(var.email_recipients) <= 50)
    error_message = "email_recipients: 1 to 50 addresses (SES accepts at most 50 per email)."
  }
}

variable "lambda_package_dir" {
  description = "Folder holding moviepipe-<architecture>.zip, as `make package` writes it. Null: the repository's build/lambda."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the Lambda functions: x86_64 or arm64 (cheaper per GB-second)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "batch_size" {
  description = "Records per invocation of the email consumer (1 to 10000; above 10 needs a batching window). Null: declared."
  type        = number
  default     = null

  validation {
    condition     = var.batch_size == null ? true : (var.batch_size >= 1 && var.batch_size <= 10000)
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "Seconds the email queue's mapping may wait to fill a batch (0 to 300). Null: declared."
  type        = number
  default     = null

  validation {
    condition     = var.batching_window_seconds == null ? true : (var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300)
    error_message = "batching_window_seconds must be between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent consumer invocations (2 to 1000); with batch_concurrency it bounds the SES send rate. Null: declared."
  type        = number
  default     = null

  validation {
    condition     = var.maximum_concurrency == null ? true : (var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000)
    error_message = "maximum_concurrency must be between 2 and 1000 (the SQS event source's limits)."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the DLQ. Null: declared."
  type        = number
  default     = null

  validation {
    condition     = var.max_receive_count == null ? true : (var.max_receive_count >= 1 && var.max_receive_count <= 1000)
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "log_retention_days" {
  description = "Days the functions' and the API's logs are kept."
  type        = number
  default     = 30
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the oldest message in the email queue is older than this."
  type        = number
  default     = 900
}

variable "iterator_age_alarm_ms" {
  description = "Alarm when the outbox relay lags the Movies table's stream by more than this."
  type        = number
  default     = 60000
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (null: none; subscribe what you like to the alarm_topic_arn output)."
  type        = string
  default     = null
}

variable "api_authorization" {
  description = "Authorization of the movies API's methods: AWS_IAM (callers sign with SigV4) or NONE (public)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.api_authorization)
    error_message = "api_authorization must be AWS_IAM or NONE."
  }
}

variable "deletion_protection" {
  description = "Protect the DynamoDB tables against deletion (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "redrive_allow_policy" {
  description = "Give each DLQ a redrive-allow policy naming its source queues. Keep true on AWS; false only for an AWS emulation that lacks the attribute (moto)."
  type        = bool
  default     = true
}

variable "ses_configuration_set" {
  description = "Send through an SES configuration set (TLS required, reputation metrics). Keep true on AWS; false only for an AWS emulation that cannot read it back (moto)."
  type        = bool
  default     = true
}

variable "api_gateway_account_role" {
  description = "Set the account's API Gateway CloudWatch role (needed for the API's access logs). Account-wide per region: false where another stack manages it."
  type        = bool
  default     = true
}
