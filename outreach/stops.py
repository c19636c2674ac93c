"""Customers who must not be contacted any more (after a death hand-off or a claims case), as SQL
the apps that know of them register in their AppConfig.ready(), like policies/panels.py: outreach
sits left of renewals and never reads its tables by name. The planner suppresses their steps
(reason claim) and the dispatcher suppresses their due contacts before it claims."""

_STOPS: dict[str, str] = {}


def contact_stop_register(key: str, sql: str) -> None:
    """`sql` selects one column of customer ids, with no parameters (it is inlined in the
    planner's and the dispatcher's statements)."""
    if "%" in sql:
        raise ValueError("a stop's SQL takes no parameters")
    _STOPS[key] = sql


def contact_stops_sql() -> str:
    if not _STOPS:
        return "SELECT NULL::bigint WHERE false"
    return " UNION ".join(f"({sql})" for _key, sql in sorted(_STOPS.items()))
