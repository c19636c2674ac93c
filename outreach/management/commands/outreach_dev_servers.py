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
    help = ("bin/dev: a local SMTP server (aiosmtpd), the fake Aliyun Dysms gateway and the fakes of the robot-call, "
            "WeChat and app-push providers, writing what they receive to the inbox file shown on the staff page "
            "'Local mail and SMS'.")

    def add_arguments(self, parser):
        parser.add_argument("--smtp-port", type=int, default=settings.EMAIL_PORT)
        parser.add_argument("--sms-port", type=int, default=8025)
        parser.add_argument("--voice-port", type=int, default=8026)
        parser.add_argument("--wechat-port", type=int, default=8027)
        parser.add_argument("--push-port", type=int, default=8028)
        parser.add_argument("--no-smtp", action="store_true")
        parser.add_argument("--no-sms", action="store_true")
        # the payment platforms' fakes (billing.platforms.fakes), their keys in var/platform-keys/
        parser.add_argument("--alipay-port", type=int, default=8031)
        parser.add_argument("--wechatpay-port", type=int, default=8032)
        parser.add_argument("--no-platforms", action="store_true")
        parser.add_argument("--no-channels", action="store_true", help="no robot-call, WeChat or app-push fake")
        parser.add_argument("--voice-callback", default="",
                            help="where the fake voice provider pushes its call reports (bin/dev: our "
                                 "/outreach/callbacks/voice/), signed with OUTREACH_VOICE_CALLBACK_SECRET")
        parser.add_argument("--voice-report-delay", type=float, default=20.0,
                            help="seconds between a robot call and the push of its report")

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
        if not options["no_channels"]:
            self._channels(options)
        if not options["no_platforms"]:
            from billing.platforms.fakes import FakeAlipay, FakeWechatPay
            from billing.platforms.keys import PlatformKeys

            keys = PlatformKeys.ensure(settings.PLATFORM_DEV_KEYS_DIR)
            alipay = FakeAlipay(keys=keys, app_id=settings.ALIPAY_APP_ID)
            alipay.start(port=options["alipay_port"])
            wechatpay = FakeWechatPay(keys=keys, mchid=settings.WECHATPAY_MCHID, appid=settings.WECHATPAY_APPID)
            wechatpay.start(port=options["wechatpay_port"])
            self.stdout.write(f"fake Alipay at {alipay.gateway}, fake WeChat Pay at {wechatpay.base_url} "
                              f"(keys in {settings.PLATFORM_DEV_KEYS_DIR})")
        self.stdout.write(f"what they receive: {inbox_path()}", ending="\n")
        self.stdout.flush()
        threading.Event().wait()

    def _channels(self, options) -> list:
        """The fake Aliyun Dyvms (robot calls), WeChat official account and Getui push (issue 16),
        started; returned so that a caller (a test) can stop them. Given --voice-callback, the
        voice fake pushes each call's report there, signed with the development secret."""
        from outreach.fake_channels import FakeGetui, FakeWeChat
        from outreach.fake_voice import FakeDyvms

        def call(c: dict) -> None:
            inbox_append({"channel": "phone", "to": c["phone"], "template_code": c["start_code"], "params": c["params"],
                          "biz_id": c["call_id"]})

        def wechat(m: dict) -> None:
            inbox_append({"channel": "wechat", "to": m["openid"], "template_code": m["template_id"],
                          "params": m["data"], "biz_id": str(m["msgid"])})

        def push(m: dict) -> None:
            inbox_append({"channel": "app", "to": m["cid"], "subject": m["title"], "body": m["body"],
                          "biz_id": m["task_id"]})

        callback, secret = options.get("voice_callback") or "", settings.OUTREACH_VOICE_CALLBACK_SECRET
        if callback and not secret:
            self.stderr.write("OUTREACH_VOICE_CALLBACK_SECRET is empty: the fake voice provider pushes no call reports")
            callback = ""
        voice = FakeDyvms(access_key_id=settings.OUTREACH_VOICE_ACCESS_KEY_ID,
                          secret=settings.OUTREACH_VOICE_ACCESS_KEY_SECRET, on_call=call, callback_url=callback,
                          callback_secret=secret, report_delay=options.get("voice_report_delay", 20.0))
        self.stdout.write(f"fake Dyvms (robot calls) at {voice.start(port=options['voice_port'])}"
                          + (f", call reports pushed to {callback}" if callback else ""))
        wx = FakeWeChat(app_id=settings.OUTREACH_WECHAT_APP_ID, app_secret=settings.OUTREACH_WECHAT_APP_SECRET,
                        templates=(settings.OUTREACH_WECHAT_TEMPLATE_ID,), on_message=wechat)
        self.stdout.write(f"fake WeChat official account at {wx.start(port=options['wechat_port'])}")
        getui = FakeGetui(app_id=settings.OUTREACH_APP_PUSH_APP_ID, app_key=settings.OUTREACH_APP_PUSH_APP_KEY,
                          master_secret=settings.OUTREACH_APP_PUSH_MASTER_SECRET, on_message=push)
        self.stdout.write(f"fake Getui push at {getui.start(port=options['push_port'])}")
        return [voice, wx, getui]
