"""Lists: a column header that sorts the list by its column, keeping the page's filters."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label) -> str:
    """{% sort_header "paid_to_date" _("Paid to date") %}: a link sorting by the column, ascending
    first, descending when it is already sorted ascending (?sort=-key); an arrow on the sorted one."""
    request = context["request"]
    current = request.GET.get("sort", "")
    query = request.GET.copy()
    query.pop("page", None)
    query["sort"] = f"-{key}" if current == key else key
    arrow = " ▲" if current == key else " ▼" if current == f"-{key}" else ""
    return format_html('<a class="sort-link text-reset" href="?{}" data-sort="{}">{}{}</a>', query.urlencode(), key,
                       label, arrow)
