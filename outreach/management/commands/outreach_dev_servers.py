import email
import email.policy
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from outreach.dev_inbox import inbox_append, inbox_path


class Inbox:
    """aiosmtpd's handler: every message accepted is written to the inbox file."""

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        inbox_append({"channel": "email", "to": ", ".join(envelope.rcpt_tos), "subject": str(message["Subject"] or ""),
                      "body": body.get_content() if body is not None else "",
                      "contact_id": str(message["X-Contact-Id"] or "")})
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = ("bin/dev: a local SMTP server (aiosmtpd) and the fake Aliyun Dysms gateway, writing what they "
            "receive to the inbox file shown on the staff page 'Local mail and SMS'.")

    def add_arguments(self, parser):
        parser.add_argument("--smtp-port", type=int, default=settings.EMAIL_PORT)
        parser.add_argument("--sms-port", type=int, default=8025)
        parser.add_argument("--no-smtp", action="store_true")
        parser.add_argument("--no-sms", action="store_true")

    def handle(self, *args, **options):
        from aiosmtpd.controller import Controller

        from outreach.fake_gateway import FakeDysms

        if not options["no_smtp"]:
            controller = Controller(Inbox(), hostname="127.0.0.1", port=options["smtp_port"])
            controller.start()
            self.stdout.write(f"local SMTP server at 127.0.0.1:{options['smtp_port']}")
        if not options["no_sms"]:
            def record(message: dict) -> None:
                inbox_append({"channel": "sms", "to": message["phone"], "sign_name": message["sign_name"],
                              "template_code": message["template_code"], "params": message["params"],
                              "biz_id": message["biz_id"]})

            fake = FakeDysms(access_key_id=settings.OUTREACH_SMS_ACCESS_KEY_ID,
                             secret=settings.OUTREACH_SMS_ACCESS_KEY_SECRET, on_message=record)
            self.stdout.write(f"fake Dysms gateway at {fake.start(port=options['sms_port'])}")
        self.stdout.write(f"what they receive: {inbox_path()}", ending="\n")
        self.stdout.flush()
        threading.Event().wait()
