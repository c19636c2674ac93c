"""Installment marks: which policies' installments were written, and when.

A statement-level trigger on billing_installment (after INSERT and after UPDATE, from the
statement's transition table) writes one row per policy it touched into billing_installment_mark,
keyed (marked_at, policy_id): marked_at is now(), the start of the writing transaction, as the
installments' own updated_at and created_at are when SQL stamps them. Every path that writes
installments is covered, the ORM's, the night's set-based SQL, COPY and a hand-typed UPDATE alike;
a transaction's second statement over the same policy adds nothing (ON CONFLICT DO NOTHING).

The night's readers of "what changed since the last run" (the KPI snapshot's changed installments:
reporting.services.snapshot) first take the chunk's policies marked since that time, through the
key's index, then read only those policies' installments: a normal night marks a few thousand
policies of a chunk of 50,000, whose 700,000 installments the reader otherwise walks to test their
stamps (bench/RESULTS.md part 25).

The marks are kept MARK_DAYS days: the night's step prunes older ones (installment_marks_prune)
and moves billing_installment_mark_kept.complete_from, the time from which the marks are
complete (at first the migration's own time: nothing written before it was marked). A reader
whose "since" is earlier (a night after days without a run, a first run) reads every installment
of its chunk, as before (marks_complete_since).

Deleting an installment writes no mark: a reader of stamps cannot see a deleted row either.
"""

import datetime as dt

from django.db import connection

MARK_DAYS = 8

def marked_policies(*, lo: str, hi: str, since: str, written_since: str) -> str:
    """SQL of the distinct policies of ids lo..hi (parameter names) whose installments were written
    from `since` on; `written_since` narrows it as the reader narrows its own rows (alias m, column
    marked_at). Its index reads the marks from `since` on only."""
    return (f"SELECT DISTINCT m.policy_id FROM billing_installment_mark m "
            f"WHERE m.marked_at >= %({since})s AND m.policy_id BETWEEN %({lo})s AND %({hi})s AND {written_since}")


def marks_complete_since(since: dt.datetime | None) -> bool:
    """Whether every installment written from `since` on is marked."""
    if since is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT complete_from <= %s FROM billing_installment_mark_kept", [since])
        row = cursor.fetchone()
    return bool(row and row[0])


def installment_marks_prune(*, keep_days: int = MARK_DAYS) -> int:
    """Delete the marks older than `keep_days` days and say from when the rest are complete.
    Returns the marks deleted."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH cut AS (SELECT now() - make_interval(days => %(days)s) AS at),
            kept AS (UPDATE billing_installment_mark_kept k SET complete_from = greatest(k.complete_from, cut.at)
                     FROM cut RETURNING k.complete_from)
            DELETE FROM billing_installment_mark m USING cut WHERE m.marked_at < cut.at""", {"days": keep_days})
        return cursor.rowcount
