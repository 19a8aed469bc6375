# SES: the sender's identity (AWS mails it a verification link; see docs/deploy.md for the sandbox)
# and a configuration set that every email from it uses by default.

resource "aws_sesv2_configuration_set" "email" {
  count = var.ses_configuration_set ? 1 : 0

  configuration_set_name = "${var.name_prefix}-email"

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }
}

resource "aws_sesv2_email_identity" "sender" {
  email_identity         = local.settings.email_sender
  configuration_set_name = one(aws_sesv2_configuration_set.email[*].configuration_set_name)
}
