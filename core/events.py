"""Events to the right (DESIGN.md section 4): an app publishes what happened, with the affected
ids; apps to its right subscribe in their AppConfig.ready(). The app on the left imports nothing
of theirs.

Handlers run synchronously in the caller's transaction (publish inside the atomic block that made
the change), so the change and its consequences commit or roll back together. Bulk paths publish
once per statement chunk or service call with every affected id, never once per row; handlers
are set-based over those ids and idempotent.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

logger = logging.getLogger(__name__)

# billing
MONEY_ALLOCATED = "money_allocated"  # money applied to installments or charges
ALLOCATION_REVERSED = "allocation_reversed"  # an allocation undone (returned debit, bank reversal)
PAYMENT_RECEIVED = "payment_received"  # money lines stored (statement, webhook, debit result)
PAYMENT_REFUNDED = "payment_refunded"  # suspense money paid back
# outreach
CONTACT_BOUNCED = "contact_bounced"
CALL_RESULTED = "call_resulted"  # robot-call results recorded (record_ids: outreach's CallResult ids)
# risk
FLAG_CONFIRMED = "flag_confirmed"

EVENT_NAMES = frozenset({MONEY_ALLOCATED, ALLOCATION_REVERSED, PAYMENT_RECEIVED, PAYMENT_REFUNDED,
                         CONTACT_BOUNCED, CALL_RESULTED, FLAG_CONFIRMED})


@dataclass(frozen=True)
class Event:
    name: str
    as_of: dt.date  # the business date of the operation that published it
    policy_ids: frozenset[int] = field(default_factory=frozenset)
    installment_ids: frozenset[int] = field(default_factory=frozenset)
    payment_ids: frozenset[int] = field(default_factory=frozenset)
    record_ids: frozenset[int] = field(default_factory=frozenset)  # the publishing app's own records
    source: str = ""  # what published it: statement_import, manual_match, webhook, debit_result, ...


Handler = Callable[[Event], None]
_HANDLERS: dict[str, list[tuple[str, Handler]]] = {}


def event_subscribe(name: str, handler: Handler, *, key: str | None = None) -> None:
    """Register a handler (once per key: ready() may run twice in tests)."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}")
    key = key or f"{handler.__module__}.{handler.__qualname__}"
    handlers = _HANDLERS.setdefault(name, [])
    if not any(existing == key for existing, _handler in handlers):
        handlers.append((key, handler))


def event_unsubscribe(name: str, key: str) -> None:
    _HANDLERS[name] = [(k, h) for k, h in _HANDLERS.get(name, []) if k != key]


def event_handlers(name: str) -> list[Handler]:
    return [handler for _key, handler in _HANDLERS.get(name, [])]


def event_publish(name: str, *, as_of: dt.date, policy_ids: Iterable[int] = (),
                  installment_ids: Iterable[int] = (), payment_ids: Iterable[int] = (),
                  record_ids: Iterable[int] = (), source: str = "") -> Event | None:
    """Call every handler of `name` now, in the caller's transaction. Nothing affected: no call."""
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}")
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise TypeError("as_of is a business date")
    event = Event(name=name, as_of=as_of, policy_ids=frozenset(policy_ids),
                  installment_ids=frozenset(installment_ids), payment_ids=frozenset(payment_ids),
                  record_ids=frozenset(record_ids), source=source)
    if not (event.policy_ids or event.installment_ids or event.payment_ids):
        return None
    with transaction.atomic():  # a savepoint when called inside the caller's transaction
        for handler in event_handlers(name):
            handler(event)
    logger.debug("event %s: %d policies from %s", name, len(event.policy_ids), source)
    return event
