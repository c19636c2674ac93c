"""What the local SMTP server and the fake SMS gateway of bin/dev received, one JSON line per
message in a file (OUTREACH_DEV_INBOX, default var/outreach-inbox.jsonl), read by the staff page
"Local mail and SMS" so the demo's sends can be seen."""

import json
import threading
from collections import deque
from pathlib import Path

from django.conf import settings
from django.utils import timezone

_lock = threading.Lock()


def inbox_path() -> Path:
    return Path(getattr(settings, "OUTREACH_DEV_INBOX", "") or Path(settings.BASE_DIR) / "var" / "outreach-inbox.jsonl")


def inbox_append(entry: dict) -> None:
    path = inbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"received_at": timezone.now().isoformat(), **entry}, ensure_ascii=False, default=str)
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def inbox_read(*, limit: int = 200) -> list[dict]:
    """The latest messages, newest first."""
    path = inbox_path()
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        lines = deque(f, maxlen=limit)
    entries = []
    for line in reversed(lines):
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return entries
