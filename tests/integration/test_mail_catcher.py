"""The embedded SES keeps every email it accepts, both parts, readable as .eml and .html."""

from __future__ import annotations

import html
import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.mail_catcher import read_folder
from moviepipe.local.provision import verify_sender
from tests.support import aws
from tests.support.aws import environment

pytestmark = pytest.mark.integration


def send(sesv2: Any, subject: str = "Movie created: Up") -> str:
    response = sesv2.send_email(
        FromEmailAddress="movies@moviepipe.example.com",
        Destination={
            "ToAddresses": ["movies@moviepipe.example.com"],
            "BccAddresses": ["a@x.test", "b@x.test"],
        },
        Content={
            "Simple": {
                "Subject": {"Data": subject},
                "Body": {"Text": {"Data": "plain part"}, "Html": {"Data": "<p>html &amp; part</p>"}},
            }
        },
    )
    return str(response["MessageId"])


def test_caught_email_keeps_both_parts_and_all_recipients(aws: EmbeddedAWS) -> None:
    verify_sender()
    message_id = send(aws_sesv2())
    [email] = aws.mail.emails
    assert email.message_id == message_id and email.subject == "Movie created: Up"
    assert email.text == "plain part" and email.html == "<p>html &amp; part</p>"
    assert email.bcc == ("a@x.test", "b@x.test") and email.to == ("movies@moviepipe.example.com",)


def test_rejected_email_is_not_caught(aws: EmbeddedAWS) -> None:
    with pytest.raises(ClientError, match="not verified"):  # sender never verified: SES refuses it
        send(aws_sesv2())
    assert aws.mail.emails == []


def test_emails_are_written_as_eml_and_html(tmp_path: Path) -> None:
    with EmbeddedAWS(mail_folder=tmp_path) as server, environment(server.environment()):
        verify_sender()
        send(aws_sesv2(), subject="Movie deleted: <Shrek>")
    [eml] = list(tmp_path.glob("*.eml"))
    [page] = list(tmp_path.glob("*.html"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Movie deleted: <Shrek>" and "Bcc" not in message
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "plain part"  # type: ignore[union-attr]
    # The HTML part is shown as sent, framed (srcdoc, attribute-escaped) rather than nested in the page.
    [srcdoc] = re.findall(r'srcdoc="([^"]*)"', page.read_text())
    assert html.unescape(srcdoc) == "<p>html &amp; part</p>" and "&lt;Shrek&gt;" in page.read_text()
    assert [path for path, _ in read_folder(tmp_path)] == [eml]


def aws_sesv2() -> Any:
    return aws.client("sesv2")
