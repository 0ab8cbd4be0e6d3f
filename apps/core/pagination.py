from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None, *, count: int | None = None):
        """`count`: the queryset's size when the caller already knows it (the inbox's
        tab counts), so the page does not count the rows a second time."""
        if count is not None:
            self.django_paginator_class = _known_count(count)
        return super().paginate_queryset(queryset, request, view=view)


def _known_count(count: int) -> type[Paginator]:
    class KnownCountPaginator(Paginator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.__dict__["count"] = count  # Paginator.count is a cached_property

    return KnownCountPaginator


def paginated_response(*, request, view, queryset, serializer_class):
    """The one way list APIs page: `?page=` and `?page_size=` (max 200)."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- Keyset pages, for lists too long to count pages in (map items) ----------------------
#
# Ordered by one unique column; a page is "the next `limit` rows after this key", so a
# page deep in a long list costs the same as the first and rows added meanwhile do not
# shift it. (The audit log pages both ways from its newest event: apps/audit/selectors.)

@dataclass
class KeysetPage:
    rows: list[Any]
    count: int  # every row of the queryset, not only this page's
    next_after: Any | None  # pass as ?after= for the next page; None on the last one


def keyset_page(queryset, *, key: str, after: Any | None = None, limit: int,
                count: int | None = None) -> KeysetPage:
    """The rows of `queryset` whose `key` (a unique column) is above `after`, at most
    `limit` of them, in `key` order. `count`: the queryset's size when the caller
    knows it (else it is counted)."""
    if count is None:
        count = queryset.count()
    page = queryset.order_by(key)
    if after is not None:
        page = page.filter(**{f"{key}__gt": after})
    rows = list(page[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return KeysetPage(rows=rows, count=count,
                      next_after=getattr(rows[-1], key) if more and rows else None)


def keyset_next_link(request, page: KeysetPage, *, param: str = "after") -> str | None:
    """This request's URL with the cursor moved on (other query parameters kept)."""
    if page.next_after is None:
        return None
    params = request.query_params.copy()
    params[param] = str(page.next_after)
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()
