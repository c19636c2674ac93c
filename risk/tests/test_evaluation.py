"""The rules over a hand-built portfolio (issue 17, "Done means")."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import translation

from risk.models import Flag, Rule
from risk.selectors import flag_sentence
from risk.services.evaluation import risk_aggregate, risk_evaluate
from risk.tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


def night(as_of=AS_OF) -> int:
    """The night's two risk steps; returns the flags raised."""
    before = Flag.objects.count()
    risk_aggregate(as_of, 0, 2**62)
    # two chunks, as the pipeline cuts them
    risk_evaluate(as_of, 0, 10**6)
    risk_evaluate(as_of, 10**6 + 1, 2**62)
    return Flag.objects.count() - before


def flags() -> set[tuple[str, str, str]]:
    return set(Flag.objects.values_list("rule_key", "subject_type", "subject_key"))


def test_cash_at_the_threshold_is_flagged_when_it_is_recorded(cash):
    # no night has run: the counter payment's own transaction raised it
    assert list(Flag.objects.values_list("rule_key", "subject_key", "policy_ids")) == [
        ("large-cash", "name:秦五", [cash["large-cash"].pk])]
    flag = Flag.objects.get()
    assert [row["amount"] for row in flag.evidence["payments"]] == ["50000.00"]
    with translation.override("en"):
        assert flag_sentence(flag) == "秦五 paid ¥50,000.00 in cash at the counter on 2026-11-25"


def test_the_planted_portfolio_raises_exactly_the_expected_flags_once(cash):
    w = cash
    night()
    assert flags() == {
        ("unpaid-installments", "policy", str(w["unpaid-installments"].pk)),
        ("amount-deviation", "policy", str(w["amount-deviation"].pk)),
        ("contact-changes", "customer", str(w["contact-changes"].pk)),
        ("third-party-payer", "policy", str(w["third-party-payer"].pk)),
        ("large-cash", "account", "name:秦五"),
        ("shared-payer-account", "account", "6222000000000606"),
        ("reinstatement-claim", "policy", str(w["reinstatement-claim"].pk)),
        ("premium-then-refund", "policy", str(w["premium-then-refund"].pk)),
        ("refund-other-account", "account", "6222000000000909"),
        ("payer-account-changes", "policy", str(w["payer-account-changes"].pk)),
        ("many-accounts", "customer", str(w["many-accounts"].pk)),
    }
    assert Flag.objects.filter(rule__version=1, status="open").count() == 11
    # rerunning the night (or the next one) raises nothing new
    assert night() == 0
    assert night(AS_OF + dt.timedelta(days=1)) == 0
    assert Flag.objects.count() == 11


def test_each_flag_carries_its_evidence_and_sentence(cash):
    night()
    by_key = {f.rule_key: f for f in Flag.objects.all()}
    with translation.override("en"):
        text = {key: flag_sentence(flag) for key, flag in by_key.items()}
    assert text["unpaid-installments"] == ("Policy RK0000000001 has 3 consecutive installments unpaid since "
                                           "2026-07-15, ¥900.00 owed")
    assert [r["sequence"] for r in by_key["unpaid-installments"].evidence["installments"]] == [2, 3, 4]
    assert text["amount-deviation"] == ("Policy RK0000000003 received ¥1,300.00, 30.0% away from its modal "
                                        "premium ¥1,000.00")
    assert text["contact-changes"] == "Customer 周三 changed contact details 3 times in 90 days"
    assert [(c["day"], c["source"], c["phone"]) for c in by_key["contact-changes"].evidence["changes"]] == [
        ("2026-10-10", "clerk_gz", "139****0000"), ("2026-10-11", "clerk_gz", "139****0001"),
        ("2026-10-12", "clerk_gz", "139****0002")]
    assert text["third-party-payer"] == ("Policy RK0000000020 was paid 1 times by 李四 (account ****0404), "
                                         "not by the policyholder")
    assert text["shared-payer-account"] == ("The same payer account ****0606 paid for 5 unrelated policyholders, "
                                            "¥5,000.00 in 90 days")
    assert len(by_key["shared-payer-account"].evidence["payments"]) == 5
    assert text["reinstatement-claim"] == ("Policy RK0000000050 was reinstated on 2026-06-01 and claim "
                                           "CLRK0000000050 reports a loss on 2026-09-01, 92 days later")
    assert text["premium-then-refund"] == ("Policy RK0000000060 received a premium of ¥120,000.00 on 2026-03-01 "
                                           "and was surrendered on 2026-10-01")
    assert text["refund-other-account"] == ("1 refunds of money from ****0909 went to another account (****0999), "
                                            "¥5,000.00 in all")
    assert by_key["refund-other-account"].policy_ids == []  # nobody's policy: the head office's
    assert text["payer-account-changes"] == "The payer account of policy RK0000000070 changed 3 times in 365 days"
    assert text["many-accounts"] == "Customer 杨十一's policies were paid from 4 different accounts in 365 days"
    with translation.override("zh-hans"):
        assert flag_sentence(by_key["shared-payer-account"])  # rendered in the reader's language


def test_a_cleared_flag_that_recurs_is_a_new_flag_pointing_to_the_old(cash, make_user):
    from risk.services.flags import flag_decide
    from risk.tests.conftest import paid

    reviewer = make_user("risk_hq", ["risk_reviewer"], ["HQ"])
    night()
    old = Flag.objects.get(rule_key="amount-deviation")
    flag_decide(flag=old, actor=reviewer, outcome="clear", reason="客户补缴上期差额", as_of=AS_OF)
    assert night(AS_OF + dt.timedelta(days=1)) == 0  # the same pattern is not raised again
    paid(old.policy, "1500.00", on=AS_OF + dt.timedelta(days=1))
    night(AS_OF + dt.timedelta(days=2))
    new = Flag.objects.get(rule_key="amount-deviation", status="open")
    assert new.pk != old.pk and new.previous_id == old.pk
    assert Flag.objects.get(pk=old.pk).status == "cleared"


def test_a_rule_edit_makes_a_version_and_old_flags_keep_theirs(cash, make_user):
    from risk.services.rules import rule_activate, rule_backtest, rule_version_create

    reviewer = make_user("risk_hq", ["risk_reviewer"], ["HQ"])
    night()
    v1 = Rule.objects.get(key="amount-deviation", state="active")
    v2 = rule_version_create(rule=v1, actor=reviewer, reason="放宽到10%", data={"threshold": Decimal("10")})
    assert (v2.version, v2.state, v2.threshold) == (2, "draft", Decimal("10"))
    # the backtest shows what v2 would raise, and raises nothing
    before = Flag.objects.count()
    result = rule_backtest(rule=v2, actor=reviewer, as_of=AS_OF)
    assert result["count"] == 2 and result["new"] == 1  # RK...03 (already flagged by v1) and RK...04 (15%)
    assert Flag.objects.count() == before
    rule_activate(rule=v2, actor=reviewer)
    assert Rule.objects.get(pk=v1.pk).state == "retired"
    night(AS_OF + dt.timedelta(days=1))
    assert set(Flag.objects.filter(rule_key="amount-deviation").values_list("rule__version", "policy__policy_no")) == {
        (1, "RK0000000003"), (2, "RK0000000004")}


def test_scope_limits_a_rule_to_its_branches(cash):
    Rule.objects.filter(key="unpaid-installments").update(branches=["BJ"])
    night()
    assert not Flag.objects.filter(rule_key="unpaid-installments").exists()


def test_the_previous_flag_is_looked_up_by_its_subject_in_an_empty_table():
    """The first night after a migration raises tens of thousands of flags a chunk into an empty,
    never analysed risk_flag. Each row's previous flag must be looked up by rule, subject type and
    subject key together: through an index of the rule alone, each look-up walked every entry of
    the rule, the statement's own new rows included (bench/RESULTS.md part 16: 47 s for a chunk of
    50,000 migrated policies, 4 s through the subject's index)."""
    import json

    from django.db import connection, transaction

    from risk.kinds import kind_get
    from risk.services.evaluation import flags_insert_statement, rule_params

    assert not Flag.objects.exists()
    rule = Rule.objects.get(key="unpaid-installments", state="active")
    sql, params = flags_insert_statement(rule=rule, source=kind_get(rule.kind).sql,
                                         params=rule_params(rule=rule, as_of=AS_OF, id_from=1, id_to=50_000))

    def nodes(node: dict):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    # The planner's view of the table, in three states: as the session left it (never analysed, or
    # analysed by an earlier test that ran the night: ANALYZE writes pg_class in place, so a
    # rollback keeps it); analysed with five flags (written in a savepoint, then rolled back: the
    # statistics stay); analysed once they are gone. With max(f.id) the planner walked the primary
    # key backward in the last two (CI caught it once, by the order its tests ran in).
    from risk.tests.factories import FlagFactory

    def analysed_with_five_flags():
        with transaction.atomic(), connection.cursor() as cursor:
            FlagFactory.create_batch(5)
            cursor.execute("SELECT rd_analyze('risk_flag')")
            transaction.set_rollback(True)

    def analysed_empty():
        with connection.cursor() as cursor:
            cursor.execute("SELECT rd_analyze('risk_flag')")

    def as_left():
        pass

    for state in (as_left, analysed_with_five_flags, analysed_empty):
        state()
        assert not Flag.objects.exists()
        with connection.cursor() as cursor:
            # without sequential scans the plan shows which index the look-up's conditions choose
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            cursor.execute("RESET enable_seqscan")
        plan = json.loads(plan) if isinstance(plan, str) else plan
        subplans = [n for n in nodes(plan[0]["Plan"]) if n.get("Parent Relationship") == "SubPlan"]
        scans = [n for sub in subplans for n in nodes(sub) if n.get("Relation Name") == "risk_flag"]
        assert len(scans) == 1, state
        assert scans[0]["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), scans[0]
        condition = scans[0].get("Index Cond") or next(
            n.get("Index Cond", "") for n in nodes(scans[0]) if n["Node Type"] == "Bitmap Index Scan")
        assert "subject_key" in condition and "subject_type" in condition and "rule_key" in condition, (
            state.__name__, condition)


@pytest.mark.parametrize("changes", [3, 2])
def test_the_first_contact_change_after_the_import_counts(portfolio, changes):
    """The import writes no trail row: the first change is told from the imported values (kept by
    the trigger as risk_contactbaseline). Three changes in 90 days after the import flag, two do not."""
    from django.apps import apps

    from audit.services import audit_context
    from conftest import GZ_POLICY, policies_csv
    from policies.models import Customer, Policy
    from policies.services.imports import policies_import
    from risk.models import ContactBaseline
    from risk.services.evaluation import rule_hits

    zhang = Customer.objects.get(name="张伟")
    trail = apps.get_model("policies", "CustomerEvent").objects.filter(pgh_obj_id=zhang.pk)
    assert not trail.exists()  # the import wrote the customer without a trail row
    # 1: the feed sends a new mobile (an import dated 2026-10-01)
    report = policies_import(files=[("p.csv", policies_csv(GZ_POLICY.replace("13812345678", "13900000001")))],
                             as_of=dt.date(2026, 10, 1))
    assert report["files"][0]["rejected"] == 0
    # 2 (and 3): a clerk changes the e-mail, then the address
    for day, field, value in [("2026-10-20", "email", "zhang2@example.cn"),
                              ("2026-11-10", "address", "广州市越秀区北京路2号")][:changes - 1]:
        with audit_context(business_date=day, username="clerk_gz"):
            setattr(zhang, field, value)
            zhang.save(update_fields=[field, "updated_at"])

    baseline = ContactBaseline.objects.get(customer=zhang)
    assert (baseline.phone, baseline.email, baseline.address) == ("13812345678", "zhang@example.cn",
                                                                  "广州市天河区中山路1号")
    hits = rule_hits(rule=Rule.objects.get(key="contact-changes"), as_of=AS_OF)
    if changes == 2:
        assert hits == []
        return
    [(subject_type, subject_key, policy_ids, _fingerprint, evidence, params)] = hits
    assert (subject_type, subject_key, params["count"]) == ("customer", str(zhang.pk), 3)
    assert policy_ids == [Policy.objects.get(policy_no="8860000000000001").pk]
    assert [(c["day"], c["source"], c["phone"], c["email"], c["address"]) for c in evidence["changes"]] == [
        ("2026-10-01", "import_policies:p.csv", "139****0001", None, None),
        ("2026-10-20", "clerk_gz", None, "zhang2@example.cn", None),
        ("2026-11-10", "clerk_gz", None, None, "广州市越秀区北京路2号")]


def test_the_night_does_not_read_a_policy_whose_flag_of_the_rule_is_live(cash):
    """A policy with a live flag of the rule can get no new one (risk_flag_one_live_per_subject):
    the night's statement leaves it out before reading its installments (risk.kinds.UNFLAGGED;
    on a migrated portfolio nearly every open installment of a chunk is such a policy's). The
    backtest still shows what the rule finds, and a cleared flag lets the policy be read again."""
    from django.db import connection

    from risk.kinds import kind_get
    from risk.services.evaluation import rule_hits, rule_params

    night()
    rule = Rule.objects.get(key="unpaid-installments", state="active")
    flagged = str(cash["unpaid-installments"].pk)

    def night_hits() -> list[str]:
        params = {**rule_params(rule=rule, as_of=AS_OF, id_from=0, id_to=2**62), "skip_flagged": True}
        with connection.cursor() as cursor:
            cursor.execute(kind_get(rule.kind).sql, params)
            return [row[1] for row in cursor.fetchall()]

    assert night_hits() == []
    assert [hit[1] for hit in rule_hits(rule=rule, as_of=AS_OF)] == [flagged]
    Flag.objects.filter(rule_key="unpaid-installments").update(status="cleared")
    assert night_hits() == [flagged]
    # the same pattern is not raised twice (risk_flag_once_per_pattern)
    assert night(AS_OF + dt.timedelta(days=1)) == 0


def test_the_night_looks_up_the_live_flags_of_the_chunk_s_policies_only(cash):
    """The look-up of live flags (risk.kinds.UNFLAGGED) is bounded by the chunk: before, it was
    keyed by subject_key, and the planner hashed every live flag of the rule in the portfolio for
    each chunk (476,329 on the migration shape, bench/RESULTS.md part 19). Sequential scans are off:
    the plan then shows what the SQL and the indexes let the look-up be bounded by, whatever the
    table's size (a handful of flags here)."""
    import json

    from django.db import connection

    from policies.models import Policy
    from risk.kinds import kind_get
    from risk.services.evaluation import rule_params

    night()
    rule = Rule.objects.get(key="unpaid-installments", state="active")
    flagged = cash["unpaid-installments"].pk
    assert Flag.objects.filter(rule_key=rule.key, status="open").count() == 1

    def flags_read(lo: int, hi: int) -> int:
        params = {**rule_params(rule=rule, as_of=AS_OF, id_from=lo, id_to=hi), "skip_flagged": True}
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + kind_get(rule.kind).sql, params)
            plan = cursor.fetchone()[0]
            cursor.execute("RESET enable_seqscan")
        plan = json.loads(plan) if isinstance(plan, str) else plan

        def nodes(node):
            yield node
            for child in node.get("Plans", ()):
                yield from nodes(child)

        looked_up = [n for n in nodes(plan[0]["Plan"]) if n.get("Relation Name") == "risk_flag"]
        # by an index whose condition holds the chunk's bounds, per policy or hashed once
        assert looked_up and all(f"(policy_id >= {lo})" in n.get("Index Cond", "")
                                 and f"(policy_id <= {hi})" in n.get("Index Cond", "") for n in looked_up), looked_up
        return sum((n["Actual Rows"] + n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0))
                   * n["Actual Loops"] for n in looked_up)

    # 2,000 more policies with a live flag of the rule, as a portfolio of four chunks would have them
    template = Policy.objects.get(pk=flagged)
    copies = []
    for n in range(2000):
        copy = Policy.objects.get(pk=flagged)
        copy.pk, copy.policy_no = None, f"RK9{n:09d}"
        copies.append(copy)
    Policy.objects.bulk_create(copies)
    Flag.objects.bulk_create(
        Flag(rule=rule, rule_key=rule.key, kind=rule.kind, severity=rule.severity, subject_type="policy",
             subject_key=str(p.pk), policy_ids=[p.pk], policy=p, fingerprint="from:2", raised_on=AS_OF)
        for p in copies)
    ids = sorted(p.pk for p in copies)
    assert template.pk < ids[0]
    # at most the chunk's own flags (fewer when the plan reads them only for policies with unpaid
    # installments, which these copies have none of)
    assert flags_read(ids[0], ids[499]) <= 500
    assert flags_read(ids[1500], ids[-1]) <= 500
    assert flags_read(ids[0], ids[1899]) <= 1900
    assert flags_read(0, template.pk) <= 1


def test_of_two_unpaid_runs_the_latest_is_flagged_with_its_own_installments(planted):
    # 1-3 unpaid, 4 paid, 5-7 unpaid, 8 paid (monthly, due on the 15th, January to August 2026):
    # one flag, for the run from 5 (three installments of 300.00 since 2026-05-15).
    from billing.tests.factories import InstallmentFactory
    from risk.tests.conftest import customer, policy

    p = policy("RK0000000099", customer("客户99"), frequency="monthly", premium="300.00")
    for seq in range(1, 9):
        InstallmentFactory(policy=p, sequence=seq, due_date=dt.date(2026, seq, 15), grace_end=dt.date(2026, seq + 2, 14),
                           amount_due=Decimal("300.00"), **({"paid": True} if seq in (4, 8) else {"status": "overdue"}))
    night()
    flag = Flag.objects.get(rule_key="unpaid-installments", subject_key=str(p.pk))
    assert flag.fingerprint == "from:5"
    assert [(r["sequence"], r["due_date"], r["amount_due"]) for r in flag.evidence["installments"]] == [
        (5, "2026-05-15", "300.00"), (6, "2026-06-15", "300.00"), (7, "2026-07-15", "300.00")]
    assert (flag.sentence_params["count"], flag.sentence_params["first_due"], flag.sentence_params["owed"]) == (
        3, "2026-05-15", "900.00")


@pytest.mark.django_db
def test_the_evidence_written_as_text_is_the_jsonb_built_value_by_value():
    # a leap day, a month end, cents, a large amount, nothing paid, all paid; under a DateStyle
    # that writes dates day first
    from django.db import connection

    from risk.kinds import UNPAID_EVIDENCE

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL DateStyle = 'SQL, DMY'")
        cursor.execute(f"""
            WITH v(sequence, due_date, amount_due, amount_paid) AS (VALUES
                (3, date '2028-02-29', 12345678901.25::numeric(14,2), 0.00::numeric(14,2)),
                (1, date '2026-01-31', 0.01, 0.01), (2, date '2026-12-31', 5000.00, 2500.00))
            SELECT {UNPAID_EVIDENCE}, jsonb_agg(jsonb_build_object('sequence', sequence, 'due_date', due_date,
                   'amount_due', amount_due::text, 'amount_paid', amount_paid::text) ORDER BY sequence)
            FROM v""", {})
        written, built = (json.loads(value) for value in cursor.fetchone())
    assert written == built
    assert written == [
        {"sequence": 1, "due_date": "2026-01-31", "amount_due": "0.01", "amount_paid": "0.01"},
        {"sequence": 2, "due_date": "2026-12-31", "amount_due": "5000.00", "amount_paid": "2500.00"},
        {"sequence": 3, "due_date": "2028-02-29", "amount_due": "12345678901.25", "amount_paid": "0.00"}]


@pytest.mark.django_db
def test_the_evidence_is_compressed_with_lz4_where_the_server_has_it():
    # Debian's and the official image's builds have lz4; a server without it keeps the default
    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE lz4_probe (e jsonb COMPRESSION lz4)")
        has_lz4 = True
    except DatabaseError:
        has_lz4 = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT attcompression FROM pg_attribute "
                       "WHERE attrelid = 'risk_flag'::regclass AND attname = 'evidence'")
        assert cursor.fetchone()[0] == ("l" if has_lz4 else "")
