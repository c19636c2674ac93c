"""Role homes: where each role starts after sign-in, filled by the apps in their
AppConfig.ready() (like core.navigation), so core imports no app to its right.

A home is either a page of its own (a template and a function giving its context) or a link to
an existing page (the auditor's trail). A user with several roles lands on the home of the role
with the lowest precedence and sees links to the others.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RoleHome:
    role: str  # accounts role code
    precedence: int  # lower first, for a user with several roles
    label: object  # lazy translated text: "My work", "Today's money"
    template: str = ""  # a home page of its own...
    context: Callable | None = None  # ...with context(request) -> dict
    url_name: str = ""  # ...or an existing page


_HOMES: dict[str, RoleHome] = {}


def home_register(*, role: str, precedence: int, label, template: str = "", context: Callable | None = None,
                  url_name: str = "") -> None:
    if bool(template) == bool(url_name):
        raise ValueError("a home is a template or a page, not both")
    _HOMES.setdefault(role, RoleHome(role, precedence, label, template, context, url_name))


def homes_for(*, roles: set[str]) -> list[RoleHome]:
    """The homes of the user's roles, the one to land on first."""
    return sorted((_HOMES[r] for r in roles if r in _HOMES), key=lambda home: (home.precedence, home.role))


def home_get(role: str) -> RoleHome | None:
    return _HOMES.get(role)
