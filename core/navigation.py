"""The top menu, assembled from what each app registers in its AppConfig.ready(): an app adds
its pages without the apps to its left knowing of it. Items show only to users with the
capability (the pages check it again: the menu is a convenience, not the guard)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    order: int
    label: str
    url_name: str
    capability: str | tuple[str, ...] | None  # accounts capability codename(s), any one; None: everyone signed in


_ITEMS: list[NavItem] = []


def nav_register(*, order: int, label, url_name: str, capability: str | tuple[str, ...] | None) -> None:
    if not any(item.url_name == url_name for item in _ITEMS):
        _ITEMS.append(NavItem(order, label, url_name, capability))
        _ITEMS.sort(key=lambda item: item.order)


def nav_items() -> list[NavItem]:
    return list(_ITEMS)
