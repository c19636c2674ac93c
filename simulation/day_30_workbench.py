"""The clerks' workbench in the demo (issue 14). On each working day the demo clerks press "next
case" a few dozen times and record what the customer said, through the workbench's services:
not reached, a promise to pay in a few days (kept when the customer's money comes, which the
demo's payers decide; broken, and the follow-up comes back), will pay now, a deferral for
hardship, a refusal, a dispute for the lead, now and then a question to underwriting or the
servicing agent (answered a working day or two later by the demo's underwriter and claims
handler), feedback, rarely a death reported by the family (claims). Choices are a pure function
of (case, day): the same demo tells the same story. At most CASES_PER_CLERK claims per clerk a
day, so the whole history stays within the build's time budget."""

import datetime as dt
import hashlib
from collections import Counter

from accounts.models import User
from core.dates import SHANGHAI
from core.errors import ApplicationError
from renewals.models import Case, WorkTeam
from simulation import actors
from simulation.world import story_role_of

CASES_PER_CLERK = 10
CLERKS = ("clerk", "clerk_bj")
TEAMS = [  # (team, kind, branches, lead, members): the demo users' teams (policies.services.demo)
    ("广州续期一组", WorkTeam.Kind.RENEWAL, ("GD",), "lead", ("clerk", "lead")),
    ("北京续期组", WorkTeam.Kind.RENEWAL, ("BJ",), None, ("clerk_bj",)),
    ("核保部", WorkTeam.Kind.UNDERWRITING, (), None, ("underwriter",)),
    ("理赔部", WorkTeam.Kind.CLAIMS, (), None, ("claims",)),
    # the lead passes the servicing agents' questions on (the agents have no users in the demo)
    ("服务人员组", WorkTeam.Kind.SALES, (), "lead", ("lead",)),
]
# the outcome of a call, by share of 100
OUTCOMES = [(30, "no_answer"), (24, "promise"), (14, "will_pay_now"), (5, "hardship"), (5, "refuses"),
            (4, "dispute"), (8, "handoff_underwriting"), (6, "handoff_sales"), (3, "feedback"), (1, "deceased")]
QUESTIONS = {"underwriting": "客户询问复效是否需要重新体检，请核保确认。",
             "sales": "客户要求服务人员上门说明保障内容，请安排。",
             "claims": "客户家属来电告知被保险人已身故，请理赔部联系家属。"}
# in the build's last days a department without a waiting hand-off gets one, so that the
# underwriter and the claims handler find work on their first sign-in (issue 12)
WAITING_DAYS = 7
ANSWERS = {"handoff_underwriting": "无需体检，填写健康告知即可。", "handoff_sales": "已安排服务人员本周上门。",
           "handoff_claims": "理赔部已联系家属，启动身故理赔流程。"}
FEEDBACK = [("late_notice", "客户反映催缴短信收到太晚。"), ("payment_hassle", "客户反映线上支付链接打不开。"),
            ("service", "客户对服务态度表示满意。")]


def _pick(*parts) -> int:
    return int(hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:8], 16)


def _key(case: Case) -> str:
    """What the case is (its policy, type and day), never its id (simulation.actors, BY_LINE)."""
    return f"{case.policy.policy_no}:{case.type}:{case.opened_on.isoformat()}"


BY_CASE = ("opened_on", "policy__policy_no", "type")


def _outcome(case: Case, day: dt.date) -> str:
    roll = _pick("wb-outcome", _key(case), day) % 100
    for share, outcome in OUTCOMES:
        if roll < share:
            return outcome
        roll -= share
    return "no_answer"


_act = actors.act  # a person's action, refused or done, counted (simulation.actors)


def _teams(users: dict) -> None:
    from renewals.services.teams import work_team_ensure

    if WorkTeam.objects.filter(team__name="服务人员组").exists():
        return
    for name, kind, branches, lead, members in TEAMS:
        work_team_ensure(name=name, kind=kind, branch_codes=branches, lead=users.get(lead),
                         members=[users[m] for m in members if m in users])


# what a call may end with for a customer who follows the demo's script (simulation.behaviour's
# story roles: the lapse, the reinstatement, the deferral ... a newcomer is shown): nothing that
# changes the policy's course (a deferral, a death, a dispute would rewrite the script)
SCRIPTED_OUTCOMES = ("no_answer", "promise")


def _call(*, world, case: Case, clerk, day: dt.date, now: dt.datetime, counts: Counter) -> None:
    from renewals.services.cases import case_contact_record, case_handoff, feedback_record

    outcome = _outcome(case, day)
    if outcome not in SCRIPTED_OUTCOMES and world is not None and story_role_of(
            world=world, policy_no=case.policy.policy_no, branch_code=case.policy.branch.code):
        outcome = SCRIPTED_OUTCOMES[_pick("wb-scripted", _key(case), day) % 2]
    record = {"case": case, "actor": clerk, "as_of": day, "channel": "phone", "now": now}
    if outcome == "no_answer":
        _act(day, counts, "wb_not_reached", lambda: case_contact_record(reached=False, outcome="no_answer", **record))
    elif outcome == "promise":
        promised = day + dt.timedelta(days=1 + _pick("wb-promise", _key(case), day) % 5)
        _act(day, counts, "wb_promise", lambda: case_contact_record(
            reached=True, reason="forgot", outcome="promise", promised_on=promised, **record))
    elif outcome == "will_pay_now":
        _act(day, counts, "wb_will_pay", lambda: case_contact_record(reached=True, reason="forgot",
                                                                     outcome="will_pay_now", **record))
    elif outcome == "hardship":
        _act(day, counts, "wb_deferral", lambda: case_contact_record(reached=True, reason="hardship",
                                                                     outcome="wants_deferral", **record))
    elif outcome in ("refuses", "dispute"):
        _act(day, counts, f"wb_{outcome}", lambda: case_contact_record(reached=True, reason="dissatisfied",
                                                                       outcome=outcome, **record))
    elif outcome.startswith("handoff_"):
        department = outcome.removeprefix("handoff_")
        _act(day, counts, f"wb_{outcome}", lambda: case_handoff(case=case, department=department, actor=clerk,
                                                                 question=QUESTIONS[department], as_of=day, now=now))
    elif outcome == "feedback":
        category, text = FEEDBACK[_pick("wb-feedback", _key(case)) % len(FEEDBACK)]
        _act(day, counts, "wb_feedback", lambda: feedback_record(policy=case.policy, category=category, text=text,
                                                                 actor=clerk, as_of=day, parent=case))
        _act(day, counts, "wb_will_pay", lambda: case_contact_record(reached=True, reason="forgot",
                                                                     outcome="will_pay_now", **record))
    else:
        _act(day, counts, "wb_deceased", lambda: case_contact_record(reached=True, reason="deceased",
                                                                     outcome="refuses", **record))


def _answers(*, day: dt.date, users: dict, counts: Counter, now: dt.datetime) -> None:
    """The departments answer their hand-offs one or two working days after they came."""
    from policies.selectors import policy_in_scope
    from renewals.services.cases import case_answer

    answerers = {"handoff_underwriting": users.get("underwriter"), "handoff_claims": users.get("claims"),
                 "handoff_sales": users.get("lead")}
    for case in (Case.objects.filter(type__in=list(answerers), status__in=Case.OPEN_STATUSES,
                                     opened_on__lt=day).select_related("policy").order_by(*BY_CASE)[:40]):
        if (day - case.opened_on).days < 1 + _pick("wb-answer", _key(case)) % 2:
            continue
        who = answerers[case.type]
        if who is None or not policy_in_scope(user=who, policy=case.policy):
            continue  # another branch's department answers it (not cast in the demo)
        _act(day, counts, "wb_answered", lambda c=case, w=who: case_answer(case=c, answer=ANSWERS[c.type], actor=w,
                                                                          now=now))


def _keep_one_waiting(*, day: dt.date, users: dict, counts: Counter, now: dt.datetime) -> None:
    """The build's last days: each answering department has at least one hand-off waiting in its
    answerer's branches (a clerk of the policy's branch asks it of one of the clerk's open cases)."""
    from policies.selectors import policy_in_scope
    from renewals.services.cases import case_handoff

    for department, answerer in (("claims", "claims"), ("underwriting", "underwriter")):
        who = users.get(answerer)
        if who is None:
            continue
        waiting = Case.objects.filter(type=f"handoff_{department}", status__in=Case.OPEN_STATUSES)
        if any(policy_in_scope(user=who, policy=c.policy)
               for c in waiting.select_related("policy").order_by(*BY_CASE)[:20]):
            continue
        for username in CLERKS:
            clerk = users.get(username)
            case = (Case.objects.filter(type="overdue_follow_up", status__in=Case.OPEN_STATUSES, assignee=clerk)
                    .select_related("policy").order_by(*BY_CASE).first()) if clerk is not None else None
            if case is None or not policy_in_scope(user=who, policy=case.policy):
                continue
            _act(day, counts, f"wb_handoff_{department}", lambda c=case, k=clerk, d=department: case_handoff(
                case=c, department=d, actor=k, question=QUESTIONS[d], as_of=day, now=now))
            break


def day(*, world, day: dt.date, previous: dt.date, end: dt.date, cast, counts: Counter, working: bool) -> None:
    from renewals.services.cases import case_claim_next

    if not working:
        return
    users = {u.username: u for u in User.objects.filter(
        username__in=[*CLERKS, "lead", "underwriter", "claims"])}
    _teams(users)
    start = dt.datetime.combine(day, dt.time(9, 30), tzinfo=SHANGHAI)
    _answers(day=day, users=users, counts=counts, now=start)
    for index, username in enumerate(CLERKS):
        clerk = users.get(username)
        if clerk is None:
            continue
        for k in range(CASES_PER_CLERK):
            now = start + dt.timedelta(minutes=6 * k + index)
            try:
                case = case_claim_next(actor=clerk, as_of=day, now=now)
            except ApplicationError:
                break
            if case is None:
                break
            counts["wb_claimed"] += 1
            _call(world=world, case=case, clerk=clerk, day=day, now=now + dt.timedelta(minutes=3), counts=counts)
    if (end - day).days < WAITING_DAYS:
        _keep_one_waiting(day=day, users=users, counts=counts,
                          now=start + dt.timedelta(minutes=6 * CASES_PER_CLERK + len(CLERKS)))
