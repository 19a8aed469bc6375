"""The consumer's two side effects behind small interfaces: sending an email, dead-lettering a record.

Logic tests use in-memory fakes of :class:`EmailSender` and :class:`DeadLetterQueue`; integration tests
and production use the SES and SQS implementations over HTTP.
"""

from consumers.email_notification.adapters.dlq import DeadLetterQueue, SqsDeadLetterQueue
from consumers.email_notification.adapters.ses import EmailSender, SesEmailSender

__all__ = ["DeadLetterQueue", "EmailSender", "SesEmailSender", "SqsDeadLetterQueue"]
