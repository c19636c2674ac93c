"""References checked once per statement instead of by foreign-key constraints row by row.

A foreign-key constraint checks each inserted row on its own: one look-up and one FOR KEY SHARE
lock of the referenced row per row. The tables the night bulk-writes by the hundred thousand
(billing_installment: 13.7 million rows on the first night after a migration; the KPI facts and
slices) spent up to a third of their inserts' time there (bench/RESULTS.md part 19). Their
references are declared with db_constraint=False and checked by the triggers made here:

- after each INSERT statement, from its transition table: the referenced rows are locked FOR KEY
  SHARE, as the constraint's check locks them (no one deletes them before the transaction ends),
  except those this transaction wrote itself (a statement's assignments referencing its payments),
  then a reference to a row that does not exist is refused, with the constraint's SQLSTATE (23503,
  Django's IntegrityError). EXECUTE plans both statements for the statement's own size.
- after an UPDATE of a row whose reference changed (a WHEN clause: no other update calls it): the
  same, for that row.
- deleting a referenced row (or changing its id) that is still referenced is refused by a row
  trigger on the referenced table (protect_sql, created by the referencing app's migration).
- an insert into a table declared vouchable, in a statement whose caller vouches for its
  references (references_vouch: each is to a row the transaction wrote or holds locked FOR
  UPDATE), is not checked: the rows exist and no other transaction deletes them before this one
  ends, which is all the check would find. A statement's booked assignments and allocations
  (bench/RESULTS.md part 31).

Django's on_delete (PROTECT, CASCADE) works as before: the ORM applies it, not the database.
"""

import pgtrigger

# A referenced row this transaction inserted (or updated: its visible version is then its own) is
# not locked: no other transaction sees that version, and the version others see is locked by the
# update already. Only while the transaction id's epoch is 0: a frozen row keeps its inserter's
# 32-bit id, which after a wraparound another transaction's id may equal (pg_current_xact_id is the
# 64-bit id of the top transaction; a row written in a savepoint carries the savepoint's id and is
# locked as any other).
#
# Both statements read the distinct references: an extension chunk's 751,647 installments name 39,283
# policies, a chunk's 228,846 persistency facts a few hundred agents, branches and products. Tested
# row by row, the missing-row test was planned as a hash anti join reading every row of the
# referenced table (the 1,000,000 policies, for each chunk): 0.96-1.04 s of the chunk's trigger
# against 0.43 s (bench/RESULTS.md part 27).
#
# One look per referenced row where it can be: the rows of a statement's references are nearly
# always all of one kind, rows of others (a chunk's policies, locked) or rows this transaction
# wrote (a statement's booking: its payments, assignments and the installments it just updated).
# The first id says which; its kind is counted first (locked, or found among our own), and when
# that count is every distinct id, every one exists and nothing else is read. Otherwise (a mix, or
# a missing row) the full check follows: the others' rows locked, then the missing-row test over
# all. A statement's 100,000 allocations looked each installment up twice (0.67 s to lock none,
# 0.67 s to find it; bench/RESULTS.md part 28).
_OWN = "r.xmin = $1::xid AND $1 < '4294967296'::xid8"
# the distinct ids in order, each looked up by its own index probe (a locking subquery, or one kept
# whole by OFFSET 0, is never flattened): the referenced rows are then reached front to back
_IDS = "(SELECT DISTINCT {column} AS id FROM new_rows WHERE {column} IS NOT NULL ORDER BY 1) n"
_LOCK = (f"EXECUTE $ref$ SELECT 1 FROM {_IDS} CROSS JOIN LATERAL (SELECT 1 FROM {{table}} r WHERE r.id = n.id "
         f"AND NOT ({_OWN}) FOR KEY SHARE OF r) r $ref$ USING me;")
_INSERT_CHECK = f"""
EXECUTE $ref$ SELECT count(*), min(n.id)
              FROM (SELECT DISTINCT {{column}} AS id FROM new_rows WHERE {{column}} IS NOT NULL) n $ref$
    INTO wanted, first_id;
IF wanted > 0 THEN
    EXECUTE $ref$ SELECT {_OWN} FROM {{table}} r WHERE r.id = $2 $ref$ INTO own USING me, first_id;
    IF own THEN
        EXECUTE $ref$ SELECT count(*) FROM {_IDS} CROSS JOIN LATERAL (SELECT 1 FROM {{table}} r
                      WHERE r.id = n.id AND {_OWN} OFFSET 0) r $ref$ INTO found USING me;
    ELSE
        {_LOCK}
        GET DIAGNOSTICS found = ROW_COUNT;
    END IF;
    IF found < wanted THEN
        IF own THEN
            {_LOCK}
        END IF;
        EXECUTE $ref$ SELECT min(n.id) FROM (SELECT DISTINCT {{column}} AS id FROM new_rows WHERE {{column}} IS NOT NULL) n
                      WHERE NOT EXISTS (SELECT 1 FROM {{table}} r WHERE r.id = n.id) $ref$
            INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert on table "%" violates the reference {{column}} -> {{table}}: % does not exist',
                TG_TABLE_NAME, missing USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
END IF;"""

_UPDATE_CHECK = """
IF NEW.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column} THEN
    PERFORM 1 FROM {table} r WHERE r.id = NEW.{column} FOR KEY SHARE OF r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'update on table "%" violates the reference {column} -> {table}: % does not exist',
            TG_TABLE_NAME, NEW.{column} USING ERRCODE = 'foreign_key_violation';
    END IF;
END IF;"""


# the transaction's setting that names the vouchable tables whose next inserts are not checked
VOUCHED_SETTING = "rd.references_vouched"
_VOUCHED = (f"\nIF TG_TABLE_NAME = ANY(string_to_array(current_setting('{VOUCHED_SETTING}', true), ',')) THEN"
            "\n    RETURN NULL;\nEND IF;")


def references_triggers(references: dict[str, str], *, vouchable: bool = False) -> list[pgtrigger.Trigger]:
    """The triggers of a table whose columns {column: referenced table} are checked per statement
    (each referenced table's key is `id`). `vouchable`: an insert statement references_vouch names
    this table for is not checked."""
    changed = pgtrigger.Q()
    for column in references:
        changed |= pgtrigger.Q(**{f"old__{column}__df": pgtrigger.F(f"new__{column}")})
    return [
        pgtrigger.Trigger(
            name="references_insert", operation=pgtrigger.Insert, when=pgtrigger.After, level=pgtrigger.Statement,
            referencing=pgtrigger.Referencing(new="new_rows"),
            declare=[("missing", "bigint"), ("me", "xid8"), ("wanted", "bigint"), ("found", "bigint"),
                     ("first_id", "bigint"), ("own", "boolean")],
            func=(_VOUCHED if vouchable else "") + "\nme := pg_current_xact_id();"
            + "".join(_INSERT_CHECK.format(column=c, table=t) for c, t in references.items()) + "\nRETURN NULL;"),
        pgtrigger.Trigger(
            name="references_update", operation=pgtrigger.Update, when=pgtrigger.After, condition=changed,
            func="".join(_UPDATE_CHECK.format(column=c, table=t) for c, t in references.items()) + "\nRETURN NULL;"),
    ]


def references_vouch(cursor, tables: list[str]) -> None:
    """Until references_vouch(cursor, []) or the transaction's end (a savepoint rolled back undoes
    it too), an insert into one of `tables` (declared vouchable) does not check its references: the
    caller has made sure each is to a row this transaction wrote or holds locked FOR UPDATE. Around
    the one statement the caller vouches for (billing.services.bulk_matching.payments_book_bulk)."""
    cursor.execute("SELECT set_config(%s, %s, true)", [VOUCHED_SETTING, ",".join(tables)])


# one function for every referenced table: its trigger's arguments name the referencing (table,
# column) pairs, as many as the referencing app declares
PROTECT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION rd_references_protect() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    i int := 0;
    referenced boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NULL;
    END IF;
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[i], TG_ARGV[i + 1])
            INTO referenced USING OLD.id;
        IF referenced THEN
            RAISE EXCEPTION 'update or delete on table "%" violates the reference from %.%: % is still referenced',
                TG_TABLE_NAME, TG_ARGV[i], TG_ARGV[i + 1], OLD.id USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END
$$;
"""


def protect_sql(*, name: str, table: str, referencing: list[tuple[str, str]]) -> tuple[str, str]:
    """The SQL (and its reverse) of the trigger that refuses deleting a row of `table` (or changing
    its id) while one of the (table, column) pairs of `referencing` still points to it. A row
    trigger: referenced rows (policies, branches, products, agents) are not deleted in bulk; a
    delete waits for an insert that holds the row FOR KEY SHARE, then sees its rows."""
    args = ", ".join(f"'{t}', '{c}'" for t, c in referencing)
    return (PROTECT_FUNCTION_SQL + f"CREATE TRIGGER {name} AFTER DELETE OR UPDATE OF id ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION rd_references_protect({args});",
            f"DROP TRIGGER IF EXISTS {name} ON {table};")
