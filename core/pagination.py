def page_query(request) -> str:
    """The request's query string without `page`, for pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
