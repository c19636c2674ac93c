import os
import secrets
from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, env

# bin/dev serves as production does: DEBUG off, the product's own 403/404/500 pages, static files
# by whitenoise from var/staticfiles (bin/dev collects them). DJANGO_DEBUG=1 asks for Django's
# debug pages.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Development only: secrets the local fakes and our callbacks share, made once per checkout (random,
# never a value written in the code) and kept under var/dev-secrets/, so the web server, the worker
# and outreach_dev_servers (each started by bin/dev with these settings) read the same one. The
# environment's value wins. Production (prod.py) has no such default: there an empty
# OUTREACH_VOICE_CALLBACK_SECRET refuses every call report until a real secret is set.
DEV_SECRETS_DIR = Path(env("DEV_SECRETS_DIR", default=str(BASE_DIR / "var" / "dev-secrets")))


def dev_secret(name: str) -> str:
    """The checkout's development secret `name`, made on first use. Two processes starting at once
    agree: the file appears whole (a hard link to a finished temporary file) or not at all."""
    path = DEV_SECRETS_DIR / name
    if not path.exists():
        DEV_SECRETS_DIR.mkdir(parents=True, exist_ok=True)
        temporary = DEV_SECRETS_DIR / f".{name}.{os.getpid()}"
        temporary.write_text(secrets.token_hex(32))
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: theirs is the one
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


# bin/dev's fake voice provider pushes its call reports to /outreach/callbacks/voice/ signed with it
OUTREACH_VOICE_CALLBACK_SECRET = env("OUTREACH_VOICE_CALLBACK_SECRET", default="") or dev_secret("voice-callback")
