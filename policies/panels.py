"""Panels that later apps add to the policy page without policies importing them (the import
direction of DESIGN.md section 4): billing shows installments and money, outreach contacts,
risk flags, renewals cases. An app registers in its AppConfig.ready()."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyPanel:
    order: int
    template: str
    context: Callable  # (request, policy) -> dict, or None to hide the panel


_PANELS: list[PolicyPanel] = []


def policy_panel_register(*, order: int, template: str, context: Callable) -> None:
    if not any(p.template == template for p in _PANELS):
        _PANELS.append(PolicyPanel(order, template, context))
        _PANELS.sort(key=lambda p: p.order)


def policy_panels_render(request, policy) -> list[dict]:
    rendered = []
    for panel in _PANELS:
        context = panel.context(request, policy)
        if context is not None:
            rendered.append({"template": panel.template, "context": context})
    return rendered
