"""Values written for PostgreSQL by hand (core.copy): read back by the server as they were meant."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from core.copy import NULL, copy_field, copy_texts, id_array, text_array

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", "保单P0000000001续期保费", "tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", "",
           "end\\", "\t\n\r\\"]


def test_fields_are_escaped_only_where_copy_needs_it():
    assert copy_field("保单P1 续期") == "保单P1 续期"
    assert copy_field("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_field(None) == NULL == "\\N"
    assert copy_field(Decimal("5000.00")) == "5000.00"
    assert copy_field(dt.date(2028, 2, 29)) == "2028-02-29"
    assert copy_field(7) == "7"


def test_texts_are_escaped_together_each_as_copy_field_escapes_it():
    assert copy_texts("保单P1", "", "plain") == ("保单P1", "", "plain")
    # one special character anywhere: every field as copy_field writes it, the plain ones unchanged
    assert copy_texts("plain", "a\tb", "back\\slash") == ("plain", "a\\tb", "back\\\\slash")
    assert copy_texts(*AWKWARD) == tuple(copy_field(text) for text in AWKWARD)


def test_copy_reads_every_field_back_as_written():
    rows = [(n, text, Decimal("0.01") * n, dt.date(2028, 2, 29)) for n, text in enumerate(AWKWARD, start=1)]
    rows.append((len(rows) + 1, None, None, None))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (n integer, t text, a numeric(14,2), d date) ON COMMIT DROP")
        with cursor.cursor.copy("COPY copy_probe (n, t, a, d) FROM STDIN") as copy:
            copy.write("".join("\t".join(copy_field(v) for v in row) + "\n" for row in rows))
        cursor.execute("SELECT n, t, a, d FROM copy_probe ORDER BY n")
        assert cursor.fetchall() == rows


def test_an_id_array_is_sorted_and_read_as_bigint():
    assert id_array({30, 2, 1_000_000_000_001}) == "{2,30,1000000000001}"
    assert id_array([]) == "{}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[], cardinality(%s::bigint[])", [id_array([3, 1, 2]), id_array([])])
        assert cursor.fetchone() == ([1, 2, 3], 0)


def test_an_id_array_refuses_what_is_not_an_integer():
    with pytest.raises(ValueError):
        id_array(["1); DROP TABLE x; --"])


def test_a_text_array_is_read_back_as_written():
    values = [text for text in AWKWARD if text] + ['say "P1"', "{P1,P2}", "NULL", "a,b"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values
        cursor.execute("SELECT cardinality(%s::text[])", [text_array([])])
        assert cursor.fetchone()[0] == 0
