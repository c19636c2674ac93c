from django.db import connection

# Paths from the roots down; a cycle (A under B under A) never reaches a root and keeps its old path.
PATHS_REFRESH = """
WITH RECURSIVE tree AS (
    SELECT id, '/' || code || '/' AS path, 1 AS depth FROM policies_branch WHERE parent_id IS NULL
    UNION ALL
    SELECT b.id, t.path || b.code || '/', t.depth + 1
    FROM policies_branch b JOIN tree t ON b.parent_id = t.id
    WHERE t.depth < 32
)
UPDATE policies_branch b SET path = tree.path FROM tree WHERE b.id = tree.id AND b.path <> tree.path
"""


def branch_paths_refresh() -> None:
    """Recompute every branch's materialised path (the table is small: hundreds of rows)."""
    with connection.cursor() as cursor:
        cursor.execute(PATHS_REFRESH)
