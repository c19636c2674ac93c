"""Features from dated facts, the nightly step (idempotent, in-force only), the policy page's panel,
the API, the models page, explanations in both languages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from accounts.tests.factories import TokenFactory
from billing.models import DebitLine, Installment
from billing.services.schedules import installments_extend
from billing.tests.factories import DebitBatchFactory, DebitLineFactory
from conftest import AS_OF
from policies.models import Policy, PolicyStatusChange
from policies.tests.factories import PolicyStatusChangeFactory
from scoring import features as F
from scoring.explain import explanation_text
from scoring.models import FeatureSnapshot, ModelVersion, PolicyScore
from scoring.selectors import collection_by_risk_decile, policy_lapse_risk
from scoring.services.models import dataset_from_history, model_version_approve
from scoring.services.scores import lapse_risk_score
from scoring.tests.conftest import train_version

pytestmark = pytest.mark.django_db
GZ, BJ = "8860000000000001", "8860000000000002"
NIGHT = dt.date(2026, 12, 10)


@pytest.fixture
def world(portfolio):
    """GZ: monthly 300.00 by auto-debit, k82 due 2026-11-30 unpaid and its debit failed (insufficient
    funds); BJ: annual, behind since 2026-02-28 (no night has lapsed it)."""
    installments_extend(as_of=AS_OF)
    gz = Policy.objects.get(policy_no=GZ)
    k82 = Installment.objects.get(policy=gz, sequence=82)
    batch = DebitBatchFactory(collection_date=dt.date(2026, 11, 30))
    DebitLineFactory(batch=batch, installment=k82, policy=gz, amount=k82.amount_due, bank_name="工行",
                     status=DebitLine.Status.FAILED, reason=DebitLine.Reason.INSUFFICIENT_FUNDS)
    return {"gz": gz, "bj": Policy.objects.get(policy_no=BJ)}


def test_raw_facts_read_dated_facts_only(world):
    ids, raw = F.raw_facts(as_of=NIGHT, id_from=0, id_to=2**62)
    facts = dict(zip(ids.tolist(), raw.tolist(), strict=True))
    gz = dict(zip(F.RAW_COLUMNS, facts[world["gz"].pk], strict=True))
    assert gz == {"age": 76, "method": 1, "kind": 1, "per_year": 12, "annual_premium": 3600.0, "tenure_days": 2505,
                  "days_overdue": 10, "partial_open": 0, "open_in_window": 2, "due_12m": 1, "late_12m": 0,
                  "debit_soft_90d": 1, "debit_hard_last": 0, "debit_failed_last": 1, "hold_active": 0, "contact_negative_90d": 0,
                  "contact_promised_90d": 0, "reminder_failed_90d": 0}
    # before the debit's collection date, it is not known yet
    _ids, before = F.raw_facts(as_of=dt.date(2026, 11, 29), id_from=world["gz"].pk, id_to=world["gz"].pk)
    assert before[0][F.RAW_COLUMNS.index("debit_soft_90d")] == 0
    assert before[0][F.RAW_COLUMNS.index("days_overdue")] == 0


def test_labels_come_from_the_status_history_and_a_voided_lapse_is_none(world):
    bj = world["bj"]
    PolicyStatusChangeFactory(policy=bj, status="lapsed", effective_date=dt.date(2026, 12, 20), rule="lapse_after_grace")
    data = dataset_from_history(dates=[NIGHT])
    labels = dict(zip(data.policy_ids.tolist(), data.y.tolist(), strict=True))
    assert labels == {world["gz"].pk: 0, bj.pk: 1}
    # after the lapse the policy is no longer a row; a voided lapse never happened
    assert bj.pk not in dataset_from_history(dates=[dt.date(2026, 12, 21)]).policy_ids.tolist()
    PolicyStatusChange.objects.filter(policy=bj, status="lapsed").update(voided_at="2026-12-22T10:00:00+08:00")
    assert dataset_from_history(dates=[NIGHT]).y.tolist() == [0, 0]


def test_the_nightly_step_scores_in_force_policies_idempotently(world, admin):
    assert lapse_risk_score(NIGHT, 0, 2**62) == 0  # no approved version: nothing
    version = model_version_approve(version=train_version(), actor=admin)
    assert lapse_risk_score(NIGHT, 0, 2**62) == 2
    first = {s.policy_id: (s.score, s.explanations) for s in PolicyScore.objects.all()}
    assert lapse_risk_score(NIGHT, 0, 2**62) == 2
    assert {s.policy_id: (s.score, s.explanations) for s in PolicyScore.objects.all()} == first
    assert FeatureSnapshot.objects.filter(as_of=NIGHT).count() == 2
    gz = PolicyScore.objects.get(policy_id=world["gz"].pk)
    assert gz.model_version == version.version and gz.scored_on == NIGHT
    assert Decimal("0") < gz.score < Decimal("1")
    assert len(gz.explanations) == 3
    contributions = [e["contribution"] for e in gz.explanations]
    assert contributions == sorted(contributions, reverse=True)
    # a policy that left in_force loses its score on the next night
    Policy.objects.filter(pk=world["bj"].pk).update(status="lapsed", lapse_date=dt.date(2026, 3, 31))
    assert lapse_risk_score(dt.date(2026, 12, 11), 0, 2**62) == 1
    assert list(PolicyScore.objects.values_list("policy_id", flat=True)) == [world["gz"].pk]
    risk = policy_lapse_risk([world["gz"].pk, world["bj"].pk])
    assert list(risk) == [world["gz"].pk] and len(risk[world["gz"].pk][1]) == 3
    # the night's snapshot splits the portfolio into deciles (two policies: deciles 1 and 2)
    deciles = collection_by_risk_decile(start=NIGHT, end=dt.date(2026, 12, 31))
    assert [(d["decile"], d["policies"]) for d in deciles] == [(1, 1), (2, 1)]
    assert sum(d["due"] for d in deciles) == Decimal("300.00")  # GZ's k83, due 2026-12-31, nothing paid
    assert {d["rate"] for d in deciles} == {Decimal("0.0000"), None}


def test_explanations_are_rendered_in_the_readers_language():
    item = {"feature": "days_overdue", "value": 10.0, "contribution": 0.8}
    with translation.override("en"):
        assert explanation_text(item) == "10 days overdue"
        assert explanation_text({"feature": "method_counter", "value": 1.0}) == "Pays at the counter"
    with translation.override("zh-hans"):
        text = explanation_text(item)
    # Chinese once the lead has merged /work/i18n/scoring.po into the catalogue
    assert text in ("逾期10天", "10 days overdue")
    if translation.trans_real.translation("zh-hans").gettext("%(value)s days overdue") != "%(value)s days overdue":
        assert text == "逾期10天"


def test_the_policy_page_and_the_api_show_the_score(world, admin, make_user):
    model_version_approve(version=train_version(), actor=admin)
    lapse_risk_score(NIGHT, 0, 2**62)
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    page = Client()
    page.force_login(clerk)
    html = page.get(f"/policies/{GZ}/").content.decode()
    assert 'id="lapse-risk-panel"' in html and 'id="lapse-risk-score"' in html
    explained = html.split('id="lapse-risk-explanations"')[1].split("</ol>")[0]
    assert explained.count("<li>") == 3
    api = Client(headers={"Authorization": f"Token {TokenFactory(user=clerk).key}"})
    body = api.get(f"/api/v1/policies/{GZ}/lapse-risk/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["policy_no"] == GZ and body["model_version"] == 1 and len(body["explanations"]) == 3
    assert 0 < float(body["score"]) < 1
    # the administrator's drift: tonight's scores in the version's test deciles, the features' shift
    page.force_login(admin)
    html = page.get("/scoring/models/").content.decode()
    assert 'id="score-drift"' in html and 'id="feature-drift"' in html


def test_the_models_page_is_the_administrators_and_approves(admin, make_user):
    version = train_version()
    clerk = make_user("clerk_any", ["clerk"])
    page = Client()
    page.force_login(clerk)
    assert page.get("/scoring/models/").status_code == 403
    page.force_login(admin)
    html = page.get("/scoring/models/").content.decode()
    assert f'data-version="{version.version}" data-status="draft"' in html
    assert page.get(f"/scoring/models/{version.version}/").status_code == 200
    response = page.post(f"/scoring/models/{version.version}/approve/")
    assert response.status_code == 302
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.APPROVED
    assert page.get("/scoring/models/").status_code == 200


def test_the_demos_last_day_trains_approves_and_scores(world, make_user):
    """simulation/day_90_scoring.py on a tiny history: BJ lapsed on 2026-12-20, GZ pays on."""
    from collections import Counter

    from simulation import day_90_scoring
    from simulation.world import World

    make_user("admin", ["admin"])
    bj = world["bj"]
    PolicyStatusChangeFactory(policy=bj, status="lapsed", effective_date=dt.date(2026, 12, 20), rule="lapse_after_grace")
    Policy.objects.filter(pk=bj.pk).update(status="lapsed", lapse_date=dt.date(2026, 12, 20))
    counts: Counter = Counter()
    end = dt.date(2027, 1, 31)
    day_90_scoring.day(world=World(seed=1, start=dt.date(2026, 11, 26), story_share=0.0), day=end - dt.timedelta(days=1),
                       previous=None, end=end, cast=None, counts=counts, working=True)
    assert not ModelVersion.objects.exists()  # only on the span's last date
    day_90_scoring.day(world=World(seed=1, start=dt.date(2026, 11, 26), story_share=0.0), day=end, previous=None,
                       end=end, cast=None, counts=counts, working=True)
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.APPROVED and version.approved_by.username == "admin"
    assert version.metrics["overlap_allowed"] and version.metrics["labels_known_until"] == "2027-01-31"
    assert version.metrics["chosen"]["roc_auc"] is None  # the test dates hold GZ only: one class
    assert counts["policies_scored"] == 1
    assert list(PolicyScore.objects.values_list("policy_id", "scored_on")) == [(world["gz"].pk, end)]
