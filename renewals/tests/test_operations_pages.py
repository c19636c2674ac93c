"""The moratorium page and the administrators' catch-up to today from the operations page."""

import datetime as dt
import json

import pytest
import redis
from django.urls import reverse

from config.celery import app
from core.errors import ApplicationError
from policies.models import Branch
from renewals.models import ChunkRun, Moratorium, NightlyRun, StepRun
from renewals.operations import catch_up_progress, catch_up_start
from renewals.services.steps import STEPS

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def lead(make_user, portfolio):
    return make_user("lead_gd", ["team_lead"], ["GD"])


def _form(**values) -> dict:
    data = {"name": "台风救助", "start": "2026-12-01", "end": "2026-12-31", "branch": "", "province": "",
            "city": "", "product": "", "reason": "台风“海鸥”受灾地区"}
    data.update(values)
    return data


def test_a_lead_asks_for_a_moratorium_of_their_branch(client, lead):
    client.force_login(lead)
    gz = Branch.objects.get(code="GD-GZ")
    response = client.post(reverse("renewals:moratoria"), _form(branch=str(gz.pk)))
    assert response.status_code == 302
    moratorium = Moratorium.objects.get()
    assert (moratorium.branch, moratorium.start, moratorium.end, moratorium.status, moratorium.requested_by) == (
        gz, dt.date(2026, 12, 1), dt.date(2026, 12, 31), "requested", lead)
    page = client.get(reverse("renewals:moratoria")).content.decode()
    assert "台风救助" in page and "广州中心支公司" in page


def test_the_branch_choice_holds_only_the_users_branches(client, lead):
    client.force_login(lead)
    page = client.get(reverse("renewals:moratoria")).content.decode()
    assert "广州中心支公司" in page and "北京分公司" not in page
    beijing = Branch.objects.get(code="BJ")
    response = client.post(reverse("renewals:moratoria"), _form(branch=str(beijing.pk)))
    assert response.status_code == 200
    assert Moratorium.objects.count() == 0
    assert response.context["form"].errors["branch"]


def test_errors_stand_beside_their_field(client, lead):
    client.force_login(lead)
    # no criterion: a branch office may not ask for a nationwide one (the service's rule, on the field)
    response = client.post(reverse("renewals:moratoria"), _form())
    assert response.status_code == 200 and Moratorium.objects.count() == 0
    assert list(response.context["form"].errors) == ["branch"]
    response = client.post(reverse("renewals:moratoria"), _form(branch=str(Branch.objects.get(code="GD").pk),
                                                                 end="2026-11-30"))
    assert list(response.context["form"].errors) == ["end"]


def test_finance_reads_the_list_but_may_not_ask(client, make_user, portfolio):
    finance = make_user("fin", ["finance"])
    client.force_login(finance)
    page = client.get(reverse("renewals:moratoria")).content.decode()
    assert 'id="moratorium-request"' not in page
    assert client.post(reverse("renewals:moratoria"), _form(branch=str(Branch.objects.get(code="GD").pk))).status_code == 403
    assert Moratorium.objects.count() == 0


def test_a_beijing_clerk_does_not_see_a_guangdong_moratorium(client, make_user, lead):
    Moratorium.objects.create(name="广东台风", start=TODAY, end=TODAY, reason="r", requested_by=lead,
                              branch=Branch.objects.get(code="GD"))
    Moratorium.objects.create(name="全国疫情", start=TODAY, end=TODAY, reason="r", requested_by=lead,
                              product=None, province="湖北省")
    clerk = make_user("clerk_bj", ["clerk"], ["BJ"])
    client.force_login(clerk)
    page = client.get(reverse("renewals:moratoria")).content.decode()
    assert "广东台风" not in page and "全国疫情" in page


def _run(day: dt.date, status: str) -> NightlyRun:
    return NightlyRun.objects.create(as_of=day, status=status)


def test_progress_counts_the_dates_left_and_the_running_step(admin_user_with_ops):
    _run(dt.date(2026, 11, 26), "finished")
    assert catch_up_progress(today=TODAY).dates_left == 4  # 27, 28, 29, 30
    run = _run(dt.date(2026, 11, 27), "running")
    StepRun.objects.create(run=run, step=STEPS[0][0], position=1, status="finished")
    step = StepRun.objects.create(run=run, step=STEPS[1][0], position=2, status="running")
    for lo, done in ((1, True), (50_001, True), (100_001, False), (150_001, False)):
        ChunkRun.objects.create(step=step, id_from=lo, id_to=lo + 49_999, done=done)
    progress = catch_up_progress(today=TODAY)
    assert (progress.running, progress.step, progress.chunks_done, progress.chunks_total) == (run, step, 2, 4)
    # one step of len(STEPS) finished and half of the second: (1 + 0.5) / len(STEPS)
    assert progress.percent == int(100 * 1.5 / len(STEPS))


def test_catch_up_is_refused_while_running_after_a_failure_or_with_nothing_left(admin_user_with_ops):
    started: list[int] = []
    _run(TODAY, "finished")
    with pytest.raises(ApplicationError, match="2026-11-30"):
        catch_up_start(actor=admin_user_with_ops, enqueue=lambda: started.append(1), today=TODAY)
    failed = _run(TODAY + dt.timedelta(days=1), "failed")
    with pytest.raises(ApplicationError, match="2026-12-01"):
        catch_up_start(actor=admin_user_with_ops, enqueue=lambda: started.append(1), today=TODAY + dt.timedelta(days=3))
    NightlyRun.objects.filter(pk=failed.pk).update(status="running")
    with pytest.raises(ApplicationError, match="2026-12-01"):
        catch_up_start(actor=admin_user_with_ops, enqueue=lambda: started.append(1), today=TODAY + dt.timedelta(days=3))
    assert started == []


def test_catch_up_is_refused_to_a_clerk(make_user, portfolio):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    with pytest.raises(ApplicationError) as refused:
        catch_up_start(actor=clerk, enqueue=lambda: None, today=TODAY)
    assert refused.value.status == 403


def _pipeline_messages(client: redis.Redis, queue: str) -> list[bytes]:
    return [m for m in client.lrange(queue, 0, -1)
            if json.loads(m).get("headers", {}).get("task") == "renewals.tasks.nightly_pipeline"]


def test_the_button_puts_the_catch_up_on_the_broker_and_the_trail(client, admin_user_with_ops):
    from audit.models import Operation

    _run(dt.date(2025, 1, 1), "finished")  # long ago: dates are left whatever today is
    broker = redis.Redis.from_url(app.conf.broker_url)
    # the test session's key prefix (config/settings/test.py) keeps its queues apart on a shared Redis
    queue = app.conf.broker_transport_options.get("global_keyprefix", "") + app.conf.task_default_queue
    before = len(_pipeline_messages(broker, queue))
    client.force_login(admin_user_with_ops)
    page = client.get(reverse("renewals:operations")).content.decode()
    assert 'id="catch-up-start"' in page
    response = client.post(reverse("renewals:operations_catch_up"))
    assert response.status_code == 302
    messages = _pipeline_messages(broker, queue)
    try:
        assert len(messages) == before + 1
        assert Operation.objects.filter(action="nightly_catch_up", actor=admin_user_with_ops).count() == 1
    finally:
        for message in messages:
            broker.lrem(queue, 1, message)


@pytest.fixture
def admin_user_with_ops(make_user, portfolio):
    return make_user("ops_admin", ["admin"])
