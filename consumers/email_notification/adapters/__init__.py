"""The consumer's side effects behind small interfaces: sending an email, dead-lettering a record,
finding a legacy message's deduplication window.

Logic tests use in-memory fakes of :class:`EmailSender` and :class:`DeadLetterQueue`; integration tests
and production use the SES and SQS implementations over HTTP.
"""

from consumers.email_notification.adapters.dlq import DeadLetterQueue, SqsDeadLetterQueue
from consumers.email_notification.adapters.legacy_windows import DynamoDbLegacyWindows, LegacyWindows
from consumers.email_notification.adapters.ses import SES_CLIENT_CONFIG, EmailSender, SesEmailSender

__all__ = [
    "SES_CLIENT_CONFIG",
    "DeadLetterQueue",
    "DynamoDbLegacyWindows",
    "EmailSender",
    "LegacyWindows",
    "SesEmailSender",
    "SqsDeadLetterQueue",
]
