"""The connections list (the detail page lives in apps.connections)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.web import selectors
from apps.web.forms import ConnectionFilterForm
from apps.web.permissions import member_required

PAGE_SIZE = 25


@member_required
def connection_list(request: HttpRequest) -> HttpResponse:
    """The tenant's connections, filtered by plugin, status and search."""
    form = ConnectionFilterForm(request.GET)
    filters = form.filters()
    connections = selectors.connection_list(tenant=request.tenant, **filters)
    page = Paginator(connections, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/connections.html",
        {
            "form": form,
            "page": page,
            "plugins": selectors.plugins_in_use(tenant=request.tenant),
            "filtered": any(filters.values()),
            "query": query.urlencode(),
        },
    )
