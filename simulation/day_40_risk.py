"""The risk reviewer's days in the demo (issue 17). The nightly risk steps raise flags from the
demo's own data (consecutive unpaid installments, third-party payers, amounts off the premium);
a few patterns the generated portfolio lacks are planted the way they arise: now and then a
customer pays a large premium in cash at a Guangzhou counter (finance enters the receipt; the
instant rule flags it at once). The risk reviewer works the queue a few days after a flag is
raised, with every outcome: cleared as a false positive, confirmed, escalated to compliance
(decided a week later), or snoozed; every other confirmed flag is handed to a clerk of the
policy's team (a case with the flag's reason). Choices are a pure function of (flag id, day): the same
demo gives the same story."""

import datetime as dt
import hashlib
from collections import Counter
from decimal import Decimal

from accounts.models import User
from billing.services.counter import counter_payment_record
from policies.models import Policy, PolicyStatus
from risk.models import Flag
from risk.services.flags import flag_claim, flag_decide, flag_snooze
from simulation import actors

REVIEWS_PER_DAY = 6
CLEAR_REASONS = ["代缴人为投保人配偶，已电话核实", "金额差异为补缴上期欠费，属正常", "客户更换手机号码，已回访确认",
                 "账户为投保人名下另一银行卡"]
CONFIRM_REASONS = ["付款人无法说明与投保人关系，存在代缴风险", "客户拒绝说明资金来源", "与理赔时间高度吻合，需关注"]
ESCALATE_REASONS = ["疑似多人共用账户缴费，上报合规部", "大额现金来源不明，按反洗钱要求上报"]


def _pick(*parts) -> int:
    return int(hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:8], 16)


# a flag's subject key and fingerprint may carry row ids (risk.kinds): its policy number instead
BY_FLAG = ("raised_on", "rule_key", "policy__policy_no", "subject_type", "subject_key")


def _key(flag: Flag) -> tuple:
    return flag.raised_on, flag.rule_key, flag.policy.policy_no if flag.policy else flag.subject_type


def _reviewer() -> User | None:
    return User.objects.filter(username="risk").first()


_act = actors.act  # a person's action, refused or done, counted (simulation.actors)


def _plant_cash(*, day: dt.date, cast, counts: Counter) -> None:
    """About one working day in eight, a Guangzhou customer pays a year's premium in cash."""
    if _pick("cash", day) % 8:
        return
    candidates = Policy.objects.filter(branch__code="GD-GZ", status=PolicyStatus.IN_FORCE,
                                       frequency=Policy.Frequency.ANNUAL).select_related("holder").order_by("policy_no")
    count = candidates.count()
    if not count:
        return
    offset = _pick("cash-policy", day) % count
    policy = candidates[offset]
    amount = max(policy.modal_premium, Decimal("50000.00") + Decimal(_pick("cash-amount", day) % 30) * 1000)
    _act(day, counts, "risk_cash_planted", lambda: counter_payment_record(
        method="cash", amount=amount, value_date=day, payer_name=policy.holder.name,
        receipt_no=f"XJ{day:%Y%m%d}{policy.policy_no[-3:]}", actor=cast.finance, as_of=day,
        policy_no=policy.policy_no))


def day(*, world, day, previous, end, cast, counts, working) -> None:
    if not working:
        return
    reviewer = _reviewer()
    if reviewer is None:
        return
    _plant_cash(day=day, cast=cast, counts=counts)
    # compliance answers what was escalated a week ago
    # keyed and ordered by what the flag is, never by its id (simulation.actors, BY_LINE)
    for flag in (Flag.objects.filter(status=Flag.Status.ESCALATED, reviewed_on__lte=day - dt.timedelta(days=7))
                 .select_related("policy").order_by("reviewed_on", *BY_FLAG)[:3]):
        outcome = "confirm" if _pick("compliance", *_key(flag)) % 2 else "clear"
        _act(day, counts, f"risk_{outcome}", lambda f=flag, o=outcome: flag_decide(
            flag=f, actor=reviewer, outcome=o, reason="合规部复核意见：" + ("确认可疑" if o == "confirm" else "排除"),
            as_of=day))
    waiting = (Flag.objects.filter(status=Flag.Status.OPEN, raised_on__lte=day - dt.timedelta(days=2))
               .select_related("policy").order_by(*BY_FLAG)[:REVIEWS_PER_DAY])
    for flag in waiting:
        roll = _pick("outcome", *_key(flag)) % 20
        _act(day, counts, "risk_claimed", lambda f=flag: flag_claim(flag=f, actor=reviewer, as_of=day))
        if roll < 11:
            reason = CLEAR_REASONS[roll % len(CLEAR_REASONS)]
            _act(day, counts, "risk_clear", lambda f=flag, r=reason: flag_decide(
                flag=f, actor=reviewer, outcome="clear", reason=r, as_of=day))
        elif roll < 16:
            reason = CONFIRM_REASONS[roll % len(CONFIRM_REASONS)]
            # every other confirmation hands the policy to a clerk of its team (renewals' action)
            actions = ["handoff_clerk"] if roll % 2 else []
            _act(day, counts, "risk_confirm", lambda f=flag, r=reason, a=actions: flag_decide(
                flag=f, actor=reviewer, outcome="confirm", reason=r, as_of=day, actions=a))
        elif roll < 18:
            reason = ESCALATE_REASONS[roll % len(ESCALATE_REASONS)]
            _act(day, counts, "risk_escalate", lambda f=flag, r=reason: flag_decide(
                flag=f, actor=reviewer, outcome="escalate", reason=r, as_of=day))
        else:
            _act(day, counts, "risk_snooze", lambda f=flag: flag_snooze(
                flag=f, actor=reviewer, until=day + dt.timedelta(days=14), reason="等待客户提供资金来源说明",
                as_of=day))
