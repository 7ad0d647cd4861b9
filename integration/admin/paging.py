"""Lists of big tables (orders, webhook events, calls): no COUNT(*), and deep pages by keyset, not OFFSET.

Django's changelist counts the filtered rows on every page load (its paginator's ``count``), and reaches
page N with ``OFFSET (N - 1) * 100``: at 10 million orders the count alone took seconds, and a page in
the middle of the year walked five million index entries. Here a page is the ``list_per_page`` rows
after a cursor: ``?older=<time>~<id>`` of the last row shown, so "Older" costs the same on page 2 as on
page 50,000 (an index range scan from the cursor). Nothing is counted: the page says how many rows it
shows and whether there are older ones. A list sorted by a column (``?o=``) pages by OFFSET, with
"Next" only.

Select-across ("select all N") is not offered: actions apply to the rows shown.
"""

from copy import copy
from datetime import datetime

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, ChangeList
from django.utils.dateparse import parse_datetime

CURSOR_VAR = "older"
MAX_PAGE = 100_000  # ?p= on a sorted list: OFFSET up to 10 million rows (PostgreSQL's is a bigint: ?p=10**20 was a 500)


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    """``<ISO time>~<id>`` as (time, id); None when absent or malformed (the list starts from the newest)."""
    at, _, pk = (value or "").partition("~")
    try:
        parsed = parse_datetime(at)
    except ValueError:
        return None
    return (parsed, int(pk)) if parsed and pk.isdigit() else None


class KeysetChangeList(ChangeList):
    """Pages by ``(keyset_field, id)`` descending, the model admin's ``keyset_field`` (its default order)."""

    def __init__(self, request, *args, **kwargs):
        self.cursor = _cursor(request.GET.get(CURSOR_VAR))
        if CURSOR_VAR in request.GET:  # not a lookup: hidden from the filters and from every link's query string
            request = copy(request)
            request.GET = request.GET.copy()
            del request.GET[CURSOR_VAR]
        super().__init__(request, *args, **kwargs)

    def get_results(self, request):
        field = self.model_admin.keyset_field
        per_page = self.list_per_page
        rows = self.queryset
        sorted_by_column = ORDER_VAR in self.params
        if self.cursor and not sorted_by_column:
            at, pk = self.cursor
            rows = rows.filter(**{f"{field}__lte": at}).exclude(**{field: at, "pk__gte": pk})
            page = list(rows[: per_page + 1])
        else:
            if sorted_by_column and not 1 <= self.page_num <= MAX_PAGE:
                raise IncorrectLookupParameters(f"Page numbers run from 1 to {MAX_PAGE}.")  # the list says so (?e=1)
            offset = (self.page_num - 1) * per_page if sorted_by_column else 0
            page = list(rows[offset : offset + per_page + 1])
        more, page = len(page) > per_page, page[:per_page]
        self.result_list = page
        self.result_count = len(page)
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = self.multi_page = False  # Django's numbered pages would need the count
        self.paginator = None
        self.keyset = True  # templates/admin/integration/pagination.html
        self.keyset_newest_url = self.get_query_string(remove=[PAGE_VAR]) if self.cursor or self.page_num > 1 else ""
        self.keyset_older_url = ""
        if more and sorted_by_column:
            self.keyset_older_url = self.get_query_string({PAGE_VAR: self.page_num + 1})
        elif more:
            last = page[-1]
            cursor = f"{getattr(last, field).isoformat()}~{last.pk}"
            self.keyset_older_url = self.get_query_string({CURSOR_VAR: cursor}, remove=[PAGE_VAR])


class KeysetPagingMixin:
    """For a ModelAdmin whose default order is ``-keyset_field, -id`` (an index on both serves it)."""

    keyset_field = ""
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return KeysetChangeList
