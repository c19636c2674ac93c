"""The workbench's data: closed cases become resolved, the working calendar from the
chinesecalendar library (every year it knows, ending with 2026), the call scripts."""

from django.db import migrations

SCRIPTS = {
    ("younger", "zh-hans"): (
        "1. 核对身份：请客户报出投保人姓名和身份证号后四位，与系统一致后再谈保单。\n"
        "2. 说明情况：您的保单第 N 期保费已逾期，宽限期至 {宽限期截止日}，过期保单将中止。\n"
        "3. 支付方式：我们可以通过微信/短信发送在线支付链接，付款后即时到账。\n"
        "4. 记录结果：约定付款日期，或了解困难原因。"),
    ("older", "zh-hans"): (
        "1. 核对身份：请客户报出投保人姓名和身份证号后四位，与系统一致后再谈保单。\n"
        "2. 说明情况：保费已逾期，宽限期截止前缴费保单继续有效。\n"
        "3. 支付方式：可到柜面缴费，或由家人协助转账；提醒客户：公司不会要求把钱转到个人账户，谨防诈骗。\n"
        "4. 记录结果：约定付款日期，必要时约定上门或柜面服务。"),
    ("hardship", "zh-hans"): (
        "1. 核对身份：请客户报出投保人姓名和身份证号后四位，与系统一致后再谈保单。\n"
        "2. 了解困难：耐心倾听，记录原因。\n"
        "3. 介绍方案：保费缓交（最长两年）、减额交清、变更缴费频率，以及困难客户帮扶计划。\n"
        "4. 记录结果：客户选择的方案，将为其预填申请。"),
    ("younger", "en"): (
        "1. Identity check: ask for the policyholder's name and the last four digits of the ID number; "
        "talk about the policy only when they match.\n"
        "2. The situation: the premium is overdue; grace ends on the date shown; after it the policy lapses.\n"
        "3. How to pay: we can send an online payment link by WeChat or SMS; the money arrives at once.\n"
        "4. The outcome: agree a date to pay, or learn why it is hard."),
    ("older", "en"): (
        "1. Identity check: ask for the policyholder's name and the last four digits of the ID number; "
        "talk about the policy only when they match.\n"
        "2. The situation: the premium is overdue; paid before grace ends, the policy stays in force.\n"
        "3. How to pay: at the counter, or with a family member's help by transfer. Bank safety: we never ask "
        "for money to be sent to a personal account.\n"
        "4. The outcome: agree a date to pay; offer a counter appointment if needed."),
    ("hardship", "en"): (
        "1. Identity check: ask for the policyholder's name and the last four digits of the ID number; "
        "talk about the policy only when they match.\n"
        "2. Listen: note the reason for the difficulty.\n"
        "3. The programmes: premium deferral (up to two years), reduced paid-up, a change of frequency, "
        "the hardship assistance programme.\n"
        "4. The outcome: the option chosen; its application is opened prefilled."),
}


def forwards(apps, schema_editor):
    Case = apps.get_model("renewals", "Case")
    Case.objects.filter(status="closed").update(status="resolved")
    CallScript = apps.get_model("renewals", "CallScript")
    for (audience, language), text in SCRIPTS.items():
        CallScript.objects.get_or_create(audience=audience, language=language, defaults={"text": text})
    calendar_seed(apps)


def calendar_seed(apps) -> None:
    """Every year the library knows. Without the library (not installed) nothing is seeded and the
    calendar counts weekdays with its warning until an admin enters the years."""
    try:
        from chinese_calendar.constants import holidays, workdays
    except ImportError:
        return
    CalendarDay = apps.get_model("renewals", "CalendarDay")
    CalendarYear = apps.get_model("renewals", "CalendarYear")
    rows = [CalendarDay(day=d, kind="holiday", name=str(getattr(h, "value", h))[:64]) for d, h in holidays.items() if d.weekday() < 5]
    rows += [CalendarDay(day=d, kind="workday", name=str(getattr(h, "value", h))[:64]) for d, h in workdays.items()]
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)
    years = sorted({d.year for d in holidays})
    CalendarYear.objects.bulk_create([CalendarYear(year=y, source="chinesecalendar") for y in years],
                                     ignore_conflicts=True)


def backwards(apps, schema_editor):
    Case = apps.get_model("renewals", "Case")
    Case.objects.filter(status="resolved").update(status="closed")


class Migration(migrations.Migration):
    dependencies = [("renewals", "0013_workbench")]

    operations = [migrations.RunPython(forwards, backwards)]
