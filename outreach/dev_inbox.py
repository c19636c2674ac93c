"""What the local SMTP server and the fake providers of bin/dev (SMS, robot calls, WeChat, app
push) received, one JSON line per message in a file (OUTREACH_DEV_INBOX, default
var/outreach-inbox.jsonl), read by the staff page "Local mail and SMS" so the demo's sends can be
seen."""

import json
import threading
from collections import deque
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

# what each fake received, in the reader's language: the inbox line's channel as written by
# outreach_dev_servers (a robot call arrives on the voice provider's fake as channel phone)
CHANNEL_LABELS = {"sms": _("SMS"), "phone": _("Robot call"), "wechat": _("WeChat"), "app": _("App push"),
                  "email": _("E-mail")}

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


def inbox_entries(*, limit: int = 200) -> list[dict]:
    """The latest messages for the staff page, newest first: each labelled by the channel it came
    on and its address masked (a phone number for texts and calls, an openid or push client id
    cut short, an e-mail address)."""
    from accounts.masking import mask_phone
    from outreach.selectors import mask_email, mask_identity

    entries = inbox_read(limit=limit)
    for entry in entries:
        channel = entry.get("channel") or "email"  # the first inbox lines (e-mail only) had no channel
        to = str(entry.get("to", ""))
        entry["channel"] = channel
        entry["channel_label"] = CHANNEL_LABELS.get(channel, channel)
        entry["received"] = parse_datetime(entry.get("received_at", ""))
        if channel in ("sms", "phone"):
            entry["to_masked"] = mask_phone(to)
        elif channel in ("wechat", "app"):
            entry["to_masked"] = mask_identity(to)
        else:
            entry["to_masked"] = ", ".join(mask_email(a.strip()) for a in to.split(","))
    return entries
