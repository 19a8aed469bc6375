"""The consumer's side effects: the SES, SQS and DynamoDB implementations of its ports
(:mod:`consumers.email_notification.ports`: sending an email, dead-lettering a record, finding a legacy
message's deduplication window).

Logic tests use in-memory fakes of the ports; integration tests and production use these over HTTP.
"""

from consumers.email_notification.adapters.dlq import SqsDeadLetterQueue
from consumers.email_notification.adapters.legacy_windows import DynamoDbLegacyWindows
from consumers.email_notification.adapters.ses import SES_CLIENT_CONFIG, SesEmailSender
from consumers.email_notification.ports import DeadLetterQueue, EmailSender, LegacyWindows

__all__ = [
    "SES_CLIENT_CONFIG",
    "DeadLetterQueue",
    "DynamoDbLegacyWindows",
    "EmailSender",
    "LegacyWindows",
    "SesEmailSender",
    "SqsDeadLetterQueue",
]
