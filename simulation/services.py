"""demo_build: the demo department made by running the product over past business dates.

The portfolio is the seed_demo generator's, fed as of the day before the span (issue dates over
the ten years before, paid-to dates from the core system, some policies already behind or
lapsed). Then, for every date of the span ending yesterday, in order:
1. the nightly pipeline runs in process for that date (renewals.services.pipeline.nightly_run,
   no Celery): schedules, statuses, reinstatements, deferrals, grace, lapse reversals, lapses,
   collection steps (reminders, robot calls, cases), the day's debit batch, the due lists;
2. on a bank working day (Monday to Friday; public holidays are not modelled) the day's files come
   in through the real import service (billing.services.statements.statement_import): the bank's
   pain.002 answer to each debit batch since the last working day, the bank's online-banking CSV
   statement, the Alipay and the WeChat Pay merchant bills, each holding the money valued since
   the last working day (weekend money arrives on Monday);
3. the demo users act (simulation.actors).
Steps 2 and 3 of a date commit together with its DemoDay row, and the pipeline finishes an
interrupted run by itself, so a build stopped anywhere (Ctrl-C) continues at the right place the
next time; nothing is done twice. Every trail entry written for a date carries it in its context
(business_date).
"""

import contextlib
import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import replace

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from billing.models import DebitBatch
from billing.services.debits import debit_batch_mark_exported, debit_batch_pain008
from billing.services.statements import statement_import
from core.dates import business_today
from core.errors import ApplicationError
from policies.models import Policy
from policies.services.demo import demo_portfolio_seed, demo_users_ensure
from renewals.models import NightlyRun
from renewals.services.pipeline import nightly_run
from simulation import actors, behaviour, files, world
from simulation.models import DemoBuild, DemoDay

logger = logging.getLogger(__name__)
DEFAULT_DAYS = 120
ALIPAY_ACCOUNT = "20881234567890120156"
WECHAT_MERCHANT = "1900012345"


def demo_span(*, end: dt.date | None = None, days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    """The span's first and last business dates: `days` dates ending `end` (default: yesterday)."""
    if days < 1:
        raise ApplicationError(_("a demo spans at least one day"))
    end = end or business_today() - dt.timedelta(days=1)
    return end - dt.timedelta(days=days - 1), end


def working_day(day: dt.date) -> bool:
    """The bank sends files Monday to Friday (Chinese public holidays are not modelled)."""
    return day.weekday() < 5


def demo_build_current() -> DemoBuild | None:
    return DemoBuild.objects.order_by("-pk").first()


def demo_build(*, policies: int = 3000, seed: int = 1, end: dt.date | None = None, days: int = DEFAULT_DAYS,
               until: dt.date | None = None, progress=None) -> DemoBuild:
    """Build the demo, or continue the one that was interrupted (with its own parameters: the span
    of an interrupted build does not move because a day has passed). A complete build is left as
    it is. `until` stops after that date (tests of resumption); `progress(day, counts)` is called
    after each date."""
    build = demo_build_current()
    if build is None:
        if Policy.objects.exists():
            raise ApplicationError(_("this database holds policies that no demo build made; "
                                     "manage.py demo_reset rebuilds the demo from scratch"))
        start, end = demo_span(end=end, days=days)
        build = DemoBuild.objects.create(seed=seed, policies=policies, start=start, end=end)
    if build.status == DemoBuild.Status.COMPLETE:
        return build
    began = time.perf_counter()
    try:
        with _queries_not_logged():
            _build(build, until=until, progress=progress)
    finally:
        DemoBuild.objects.filter(pk=build.pk).update(seconds=build.seconds + time.perf_counter() - began)
    build.refresh_from_db()
    return build


@contextlib.contextmanager
def _queries_not_logged():
    """The development settings keep every query for the debug toolbar (DEBUG): a build runs
    hundreds of thousands, and logging them costs a noticeable share of its time."""
    previous = settings.DEBUG
    settings.DEBUG = False
    try:
        yield
    finally:
        settings.DEBUG = previous


def _build(build: DemoBuild, *, until: dt.date | None, progress) -> None:
    demo_users_ensure()
    if not NightlyRun.objects.exists():
        # the core system's feed as of the day before the span (idempotent until the first night)
        demo_portfolio_seed(count=build.policies, seed=build.seed, as_of=build.start - dt.timedelta(days=1))
    cast = actors.Cast()
    clerk_branch = Policy.objects.filter(branch__code=world.STORY_BRANCH).count()
    the_world = world.World(seed=build.seed, start=build.start,
                            story_share=behaviour.story_share(branch_policies=clerk_branch))
    last = build.days.order_by("-day").values_list("day", flat=True).first()
    day = build.start if last is None else last + dt.timedelta(days=1)
    previous_working = _previous_working(build, day)
    while day <= build.end and (until is None or day <= until):
        # the pipeline's chunks carry their date in their own trail context (job nightly:<date>:...)
        nightly_run(as_of=day)
        with transaction.atomic():
            counts: Counter = Counter()
            if working_day(day):
                _files_of_the_day(the_world, day, previous_working, cast, counts, end=build.end)
                actors.finance_day(seed=build.seed, day=day, cast=cast, counts=counts)
                actors.servicing_day(world=the_world, day=day, previous=previous_working, end=build.end, cast=cast,
                                     counts=counts)
            for actor in day_actors():
                actor(world=the_world, day=day, previous=previous_working, end=build.end, cast=cast,
                      counts=counts, working=working_day(day))
            DemoDay.objects.create(build=build, day=day, working_day=working_day(day), counts=dict(counts))
        if progress is not None:
            progress(day, counts)
        if working_day(day):
            previous_working = day
        day += dt.timedelta(days=1)
    if day > build.end:
        DemoBuild.objects.filter(pk=build.pk).update(status=DemoBuild.Status.COMPLETE, finished_at=timezone.now())
        operation_record(action="demo_build", job="demo_build", object_type="demo", object_ref=str(build.pk),
                         details={"policies": build.policies, "seed": build.seed, "start": build.start.isoformat(),
                                  "end": build.end.isoformat()})


def day_actors() -> list:
    """The other departments' days in the demo: every module `simulation/day_<NN>_<name>.py` with a
    `day(*, world, day, previous, end, cast, counts, working)` function, in the order of their names,
    run on every date of the span after the night's run, the day's files, finance and servicing
    (`working` says whether it is a working day). Each capability adds its history to the demo
    through such a module, writing through the product's own services."""
    import importlib
    import pkgutil

    import simulation

    names = sorted(m.name for m in pkgutil.iter_modules(simulation.__path__) if m.name.startswith("day_"))
    return [importlib.import_module(f"simulation.{name}").day for name in names]


def _previous_working(build: DemoBuild, day: dt.date) -> dt.date:
    """The last working day before `day` (the day before the span when there is none in it): the
    files of `day` hold what happened after it."""
    previous = day - dt.timedelta(days=1)
    while previous >= build.start and not working_day(previous):
        previous -= dt.timedelta(days=1)
    return previous


def _files_of_the_day(the_world: world.World, day: dt.date, previous: dt.date, cast: actors.Cast,
                      counts: Counter, *, end: dt.date) -> None:
    seed = the_world.seed
    # the bank's answers to the debit batches since the last working day
    for batch in (DebitBatch.objects.filter(collection_date__gt=previous, collection_date__lte=day)
                  .order_by("collection_date", "reference")):
        answers = world.debit_answers(world=the_world, batch_id=batch.pk,
                                      outage=behaviour.bank_outage(collection_date=batch.collection_date, end=end))
        if not answers:
            continue
        with audit_context(business_date=day.isoformat()):
            debit_batch_pain008(batch=batch)  # what finance sent the bank
            debit_batch_mark_exported(batch=batch)
        data = files.pain002(batch_reference=batch.reference, answers=answers, created=day)
        with audit_context(business_date=day.isoformat()):
            report = statement_import(name=f"{batch.reference}-pain002.xml", format="pain002", as_of=day,
                                      actor=cast.finance, data=data)
        counts["debit_paid"] += report.get("paid", 0)
        counts["debit_failed"] += report.get("failed", 0)
    incoming = world.payments_in_window(world=the_world, low=previous, high=day)
    incoming += world.strangers_in_window(seed=seed, low=previous, high=day)
    grouped = world.by_channel(incoming)
    stamp = f"{day:%Y%m%d}"
    imports: list[tuple[str, bytes, str, str | None]] = []  # (name, data, format, receiving account)
    if grouped.get("bank"):
        lines = [replace(line, reference=f"SIM{stamp}{n:05d}") for n, line in enumerate(grouped["bank"], start=1)]
        imports.append((f"statement-{stamp}.csv", files.bank_statement_csv(lines), "csv", None))
    if grouped.get("alipay"):
        lines = [replace(line, reference=f"{stamp}2200{n:016d}") for n, line in enumerate(grouped["alipay"], start=1)]
        imports.append((f"alipay-{stamp}.csv", files.alipay_bill(lines, account=ALIPAY_ACCOUNT, day=day), "alipay",
                        ALIPAY_ACCOUNT))
    if grouped.get("wechatpay"):
        lines = [replace(line, reference=f"4200{stamp}{n:016d}") for n, line in enumerate(grouped["wechatpay"], start=1)]
        imports.append((f"wechatpay-{stamp}.csv", files.wechat_bill(lines, merchant=WECHAT_MERCHANT), "wechatpay",
                        WECHAT_MERCHANT))
    for name, data, format, account in imports:
        with audit_context(business_date=day.isoformat()):
            report = statement_import(name=name, data=data, format=format, as_of=day, actor=cast.finance,
                                      account_no=account, template="cn-online-banking" if format == "csv" else None)
        for key in ("new", "matched", "proposed", "suspense", "rejected"):
            counts[f"{format}_{key}"] += report.get(key, 0)


def demo_reset() -> None:
    """Everything goes: the schema is dropped and migrated again (the trail's tables refuse
    deletes, by design, so there is no emptying them row by row). The caller builds again."""
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    logger.info("demo database %s emptied and migrated", settings.DATABASES["default"]["NAME"])
