"""Chinese everywhere (issue 12): signed in as each role, its home and every page its menu shows,
rendered in zh-hans, contain no English word outside a small allow-list (codes and names of
things that are English in Chinese offices too).

Pages of the apps being reworked now (billing, renewals, outreach, risk, reporting) that still
leak are marked xfail with the words found, so that the list is visible and a fix turns green;
the pages of core, accounts, audit and policies, and the project's base template, must pass."""

import datetime as dt
import functools
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import translation

from renewals.services.pipeline import nightly_run
from tests.test_i18n import ROOT, _python_strings, _template_strings

pytestmark = pytest.mark.django_db

# words a Chinese page may show: the language switch, file formats, interfaces, units
ALLOWED = {"English", "CSV", "Excel", "API", "ID", "PDF", "SMS", "HTMX", "JSON", "XML", "SQL", "CNY", "App", "WeChat",
           "Alipay", "camt", "MT", "OK"}
OURS = ("/core/", "/accounts/", "/audit/", "/policies/", "/main/templates/")
OUR_APPS = {"core", "accounts", "audit", "policies"}
# a role's display name is what the navigation bar shows: Chinese, as the demo users'
ROLES = {
    "clerk": ("陈晓明", ["GD-GZ"]), "team_lead": ("王建国", ["GD"]), "manager": ("张丽", ["HQ"]),
    "finance": ("刘洋", ["HQ"]), "risk_reviewer": ("孙强", ["HQ"]), "auditor": ("周芳", ["HQ"]),
    "underwriter": ("吴磊", ["HQ"]), "claims": ("郑华", ["HQ"]), "admin": ("系统管理员", ["HQ"]),
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
FILE_NAME = re.compile(r"[\w-]+\.(csv|xlsx|xls|xml|txt|json|zip)\b", re.I)


@functools.cache
def _their_untranslated_words() -> frozenset[str]:
    """The words of other apps' strings that have no Chinese yet: on our pages they are theirs
    (a model's name in the trail's object-type filter, a menu label)."""
    words: set[str] = set()
    with translation.override("zh-hans"):
        for msgid, path in {**_template_strings(), **_python_strings()}.items():
            app = path.relative_to(ROOT).parts[0]
            if app not in OUR_APPS and app != "templates" and translation.gettext(msgid) == msgid:
                words.update(WORD.findall(msgid))
    return frozenset(words)


class _Text(HTMLParser):
    """The text a person sees: no tags, no scripts or styles, no attribute values."""

    def __init__(self, *, menu: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.parts = []
        self._skip = 0
        self._skipped = ("script", "style", "noscript", "template") + (() if menu else ("nav",))

    def handle_starttag(self, tag, attrs):
        if tag in self._skipped:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in self._skipped and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str, *, menu: bool = True) -> list[str]:
    """The English words of a page's visible text; menu=False leaves the <nav> elements out (the
    menu's labels belong to the apps that register them and are checked on their own)."""
    parser = _Text(menu=menu)
    parser.feed(html)
    found = set()
    for token in " ".join(parser.parts).split():
        if any(ch.isdigit() for ch in token) or "@" in token or "://" in token or FILE_NAME.search(token):
            continue  # codes (WL20, AG001, GD-GZ-01), e-mail addresses, addresses of pages, file names
        for word in WORD.findall(token):
            if word not in ALLOWED and not (word.isupper() and len(word) <= 3):  # branch codes: HQ, GD, BJ
                found.add(word)
    return sorted(found)


def _owner(response) -> str:
    origin = response.templates[0].origin.name if response.templates else ""
    return origin


@pytest.fixture
def night(portfolio):
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2027, 1, 10))


@pytest.mark.parametrize("role", ROLES)
def test_each_page_of_the_role_is_chinese(night, make_user, role):
    name, branches = ROLES[role]
    user = make_user(f"zh_{role}", [role], branches)
    user.display_name = name
    user.save(update_fields=["display_name"])
    client = Client(raise_request_exception=False)  # another app's broken page is a 500 listed below
    client.force_login(user)
    # every role here sees policies: the menu is read from that page (the home may be another app's)
    search = client.get("/policies/")
    assert search.status_code == 200
    menu = search.context["nav_items"]
    pages = {"/": client.get("/", follow=True)}
    for item in menu:
        url = str(item["url"])
        if url not in pages:
            pages[url] = client.get(url, follow=True)
    ours, theirs = {}, {}
    for url, response in pages.items():
        if response.status_code != 200:
            mine = url.startswith(("/policies/", "/audit/", "/accounts/"))
            (ours if mine else theirs)[url] = [f"HTTP {response.status_code}"]
            continue
        mine = any(part in _owner(response) for part in OURS) or url.startswith(("/policies/", "/audit/"))
        assert response.headers["Content-Language"] == "zh-hans", url
        leaks = english_words(response.content.decode(), menu=False)
        if leaks and mine:
            foreign = [w for w in leaks if w in _their_untranslated_words()]
            leaks = [w for w in leaks if w not in foreign]
            if foreign:
                theirs[f"{url} (their strings)"] = foreign
        if leaks:
            (ours if mine else theirs)[url] = leaks
    for item in menu:
        leaks = english_words(f"<p>{item['label']}</p>")
        app = resolve(str(item["url"])).app_name
        if leaks:
            (ours if app in OUR_APPS else theirs)[f"menu: {app}"] = leaks
    # the bar above every page: the language switch, the user, sign-out, the business date
    html = search.content.decode()
    bar = re.search(r'<nav class="navbar.*?</nav>', html, flags=re.S).group(0)
    banner = re.search(r'<div[^>]*id="business-banner".*?</div>', html, flags=re.S)
    leaks = english_words(re.sub(r'<ul class="navbar-nav.*?</ul>', "", bar, flags=re.S) + (banner.group(0) if banner else ""))
    assert leaks == [], f"English words in the base template: {leaks}"
    assert ours == {}, f"English words on our pages: {ours}"
    if theirs:
        pytest.xfail(f"English words on other apps' pages (issue 12 follow-up): {theirs}")


def test_the_detector_finds_english_and_spares_codes():
    html = ('<html><head><title>保单 · 续期工作台</title><script>var x = "Hidden";</script></head><body>'
            '<p title="Attribute">保单号 8860000000000001 产品 WL20 分公司 GD-GZ HQ 导出 CSV</p>'
            '<button>English</button><td>Overdue follow-up</td></body></html>')
    assert english_words(html) == ["Overdue", "follow", "up"]
