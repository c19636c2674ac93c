"""Every string a person can read has a Chinese translation, and the language rule of DESIGN.md
section 4 holds: Chinese unless the user picked English; Accept-Language is ignored."""

import ast
import gettext as gettext_module
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
OUR_DIRS = ["templates", "core", "accounts", "audit", "policies", "billing", "outreach", "risk", "scoring", "renewals",
            "simulation",
            "reporting", "config"]
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}
TEMPLATIZED = re.compile(r"""\b(gettext|pgettext|ngettext)\(\s*u?'((?:[^'\\]|\\.)*)'(?:\s*,\s*u?'((?:[^'\\]|\\.)*)')?""")


def _zh_catalog() -> dict:
    mo = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), "compile the messages first (bin/setup runs compilemessages)"
    with mo.open("rb") as handle:
        return gettext_module.GNUTranslations(handle)._catalog


def _template_strings() -> dict[str, Path]:
    found = {}
    for folder in OUR_DIRS:
        for path in (ROOT / folder).rglob("*.html"):
            for match in TEMPLATIZED.finditer(templatize(path.read_text(), origin=str(path))):
                function, first, second = match.groups()
                msgid = second if function == "pgettext" else first
                found[msgid.replace("\\'", "'")] = path
    return found


def _python_strings() -> dict[str, Path]:
    found = {}
    for folder in OUR_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts or "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_NAMES:
                    # pgettext(context, message): the message is the second argument
                    position = 1 if node.func.id.startswith("pgettext") else 0
                    if (len(node.args) > position and isinstance(node.args[position], ast.Constant)
                            and isinstance(node.args[position].value, str)):
                        found[node.args[position].value] = path
    return found


def test_every_template_string_has_a_chinese_translation():
    catalog = _zh_catalog()
    strings = _template_strings()
    assert len(strings) > 50  # the scan found the templates
    keys = {(k[0] if isinstance(k, tuple) else k).split("\x04")[-1] for k, v in catalog.items() if v}  # "context\x04msgid"
    missing = sorted(f"{path.relative_to(ROOT)}: {s!r}" for s, path in strings.items() if s not in keys)
    assert missing == [], "no Chinese translation for:\n" + "\n".join(missing)


def test_every_python_string_marked_for_translation_has_a_chinese_translation():
    catalog = _zh_catalog()
    keys = {(k[0] if isinstance(k, tuple) else k).split("\x04")[-1] for k, v in catalog.items() if v}  # "context\x04msgid"
    missing = sorted(f"{path.relative_to(ROOT)}: {s!r}" for s, path in _python_strings().items() if s not in keys)
    assert missing == [], "no Chinese translation for:\n" + "\n".join(missing)


@pytest.mark.django_db
def test_chinese_by_default_whatever_the_browser_asks(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录续期工作台" in response.content.decode()


@pytest.mark.django_db
def test_english_when_the_user_picks_it_and_remembered(client, make_user):
    user = make_user("clerk_en", ["clerk"])
    client.force_login(user)
    client.post("/accounts/language/", {"language": "en", "next": "/policies/"})
    user.refresh_from_db()
    assert user.language == "en"
    page = client.get("/policies/").content.decode()
    assert "Policy search" in page and "保单查询" not in page
    client.logout()
    client.force_login(user)
    assert "Policy search" in client.get("/policies/").content.decode()


def _po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: flags, msgid and msgstr (the plural forms joined), in order."""
    entries, current, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current is not None:
                entries.append(current)
            current, field = None, None
            continue
        if current is None:
            current = {"flags": "", "msgctxt": "", "msgid": "", "msgid_plural": "", "msgstr": ""}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            field = "msgctxt"
            current[field] = line.split(" ", 1)[1].strip('"')
        elif line.startswith("msgid_plural "):
            field = "msgid_plural"
            current[field] = line.split(" ", 1)[1].strip('"')
        elif line.startswith("msgid "):
            field = "msgid"
            current[field] += line.split(" ", 1)[1].strip('"')
        elif line.startswith("msgstr"):
            field = "msgstr"
            current[field] += line.split(" ", 1)[1].strip('"')
        elif line.startswith('"') and field:
            current[field] += line.strip('"')
    return entries


def test_the_chinese_catalogue_has_no_empty_or_fuzzy_entry():
    po = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    entries = [e for e in _po_entries(po) if e["msgid"]]  # the header has an empty msgid
    assert len(entries) > 500
    fuzzy = [e["msgid"][:80] for e in entries if "fuzzy" in e["flags"]]
    empty = [e["msgid"][:80] for e in entries if not e["msgstr"]]
    assert fuzzy == [] and empty == [], f"fuzzy: {fuzzy}; untranslated: {empty}"


def _catalogue_keys(path: Path) -> set[tuple[str, str]]:
    return {(e["msgctxt"], e["msgid"]) for e in _po_entries(path) if e["msgid"]}


def test_makemessages_finds_no_msgid_missing_from_the_catalogue(tmp_path, settings):
    """What `makemessages -l zh_Hans` would extract from the code today is all in the catalogue
    (run on a copy of the sources, so that the real locale/ is never written)."""
    for folder in OUR_DIRS:
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static"))
    (tmp_path / "locale").mkdir()
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        call_command("makemessages", locale=["zh_Hans"], verbosity=0, no_obsolete=True,
                     ignore_patterns=["*/tests/*", "*/migrations/*"])
    finally:
        os.chdir(here)
    extracted = _catalogue_keys(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert len(extracted) > 500  # makemessages ran over the sources
    ours = _catalogue_keys(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    missing = sorted(f"{context}|{msgid}" if context else msgid for context, msgid in extracted - ours)
    assert missing == [], f"{len(missing)} msgids not in locale/zh_Hans (merge the translations):\n" + "\n".join(
        m[:100] for m in missing)
