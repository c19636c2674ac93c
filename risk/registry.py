"""Actions on a confirmed flag, registered by apps to the right of risk in their ready()
(renewals: hold the policy's collection steps, hand off to a clerk), so risk imports nothing of
theirs. A handler takes (*, flag, policies, actor, as_of, reason) and runs in the review's
transaction."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FlagAction:
    code: str
    label: object  # lazy translated text
    handler: Callable


_ACTIONS: dict[str, FlagAction] = {}


def flag_action_register(*, code: str, label, handler: Callable) -> None:
    _ACTIONS.setdefault(code, FlagAction(code, label, handler))


def flag_actions() -> list[FlagAction]:
    return list(_ACTIONS.values())


def flag_action_get(code: str) -> FlagAction | None:
    return _ACTIONS.get(code)
