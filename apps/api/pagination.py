"""Cursor pagination for the API's lists (stable under inserts; `?limit=` up to 200)."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Newest first, 50 per page by default."""

    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
