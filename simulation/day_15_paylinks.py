"""Payments through payment links in the demo's days (issue 16). Every date a few customers whose
premium is twenty days overdue open the link of their reminder on their phone and pay it, half
through Alipay, half through WeChat Pay: the link's hand-over goes through the platforms' SDKs to
in-process local fakes (real HTTP servers on the loopback, speaking the platforms' protocols), and
the platform's signed notification reaches billing's own notification service, which books the
payment once and cancels the remaining reminders. The notification is handed to the service in
the day's transaction (a web server could not see the day's uncommitted rows); the fakes' clock is
the demo's evening, so the money is valued on the demo's date.

Story customers (simulation.behaviour's scripts) are left to their script. A customer who pays by
link and later by bank as well has paid ahead: billing's rules make the second payment credit for
the next installment (or suspense for a refund). Choices are a pure function of (seed, installment):
the same demo gives the same story."""

import datetime as dt
import hashlib
import urllib.request
from collections import Counter

from core.dates import SHANGHAI
from core.errors import ApplicationError

OVERDUE_DAYS = 20
PAY_PER_THOUSAND = 80  # of the installments twenty days overdue on a date
MAX_PER_DAY = 6  # keeps the build within its time budget

_fakes = None


def _pick(*parts) -> int:
    return int(hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:8], 16) % 1000


def _platforms():
    """The fakes and the merchant's settings for them, made once per build."""
    global _fakes
    if _fakes is None:
        from billing.platforms.fakes import FakeAlipay, FakeWechatPay
        from billing.platforms.keys import PlatformKeys

        keys = PlatformKeys.generate()
        alipay = FakeAlipay(keys=keys, app_id="2021000000000099")
        alipay.start()
        wechatpay = FakeWechatPay(keys=keys, mchid="1900000099", appid="wx0000000000000099")
        wechatpay.start()
        overrides = {**keys.settings(), "ALIPAY_GATEWAY": alipay.gateway, "ALIPAY_APP_ID": alipay.app_id,
                     "WECHATPAY_GATEWAY": wechatpay.base_url, "WECHATPAY_MCHID": wechatpay.mchid,
                     "WECHATPAY_APPID": wechatpay.appid, "WECHATPAY_CERT_DIR": "",
                     "PAYMENT_NOTIFY_BASE_URL": "http://127.0.0.1:9"}
        _fakes = (alipay, wechatpay, overrides)
    return _fakes


def _candidates(*, world, day: dt.date) -> list:
    from billing.models import Installment
    from policies.lifecycle import PAYING
    from simulation.world import story_role_of

    rows = (Installment.objects.filter(status__in=("overdue", "partially_paid"),
                                       due_date=day - dt.timedelta(days=OVERDUE_DAYS), policy__status__in=PAYING)
            .select_related("policy__branch").order_by("policy__policy_no", "sequence"))
    chosen = []
    for installment in rows:
        # keyed by what the installment is, never by its id (simulation.actors, BY_LINE)
        if _pick(world.seed, "paylink", installment.policy.policy_no, installment.sequence) >= PAY_PER_THOUSAND:
            continue
        policy = installment.policy
        if story_role_of(world=world, policy_no=policy.policy_no, branch_code=policy.branch.code):
            continue
        chosen.append(policy)
        if len(chosen) >= MAX_PER_DAY:
            break
    return chosen


def day(*, world, day, previous, end, cast, counts: Counter, working) -> None:
    policies = _candidates(world=world, day=day)
    if not policies:
        return
    from django.test import override_settings

    from billing.models import PlatformOrder
    from billing.services.platform_payments import alipay_notification_receive, wechatpay_notification_receive
    from outreach.paylinks import paylink_hand_over, paylink_issue

    alipay, wechatpay, overrides = _platforms()
    with override_settings(**overrides):
        for n, policy in enumerate(policies):
            # the reminder's link went out at 08:00; the customer pays in the evening
            opened = dt.datetime.combine(day, dt.time(19, 0 + n), tzinfo=SHANGHAI)
            alipay.clock = wechatpay.clock = lambda opened=opened: opened
            link = paylink_issue(policy=policy, now=opened - dt.timedelta(hours=11))
            platform = "alipay" if _pick(world.seed, "paylink-platform", policy.policy_no, day) < 500 else "wechatpay"
            try:
                url = paylink_hand_over(code=link.code, platform=platform, now=opened, as_of=day,
                                        return_url=f"http://127.0.0.1:9/p/{link.code}/done/", client_ip="10.0.0.1")
            except ApplicationError:
                continue  # nothing due after all
            with urllib.request.urlopen(url, timeout=10) as page:  # the phone opens the cashier
                page.read()
            out_trade_no = (PlatformOrder.objects.filter(reference=f"paylink:{link.code}", platform=platform)
                            .latest("created_at").out_trade_no)
            if platform == "alipay":
                alipay.pay(out_trade_no, notify=False)
                payment = alipay_notification_receive(params=alipay.notification(out_trade_no), as_of=day)
                alipay.orders.pop(out_trade_no)  # the history is in billing, not in memory
            else:
                wechatpay.pay(out_trade_no, notify=False)
                headers, body = wechatpay.notification(out_trade_no)
                payment = wechatpay_notification_receive(headers=headers, body=body.encode(), as_of=day)
                wechatpay.orders.pop(out_trade_no)
            if payment is not None:
                counts[f"paylink_{platform}"] += 1
