"""The plugin catalogue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.web import selectors
from apps.web.forms import CatalogueSearchForm
from apps.web.permissions import member_required


@member_required
def plugin_catalogue(request: HttpRequest) -> HttpResponse:
    """Connectable plugins, searchable by name and description."""
    form = CatalogueSearchForm(request.GET)
    search = (form.cleaned_data.get("q") or "").strip() if form.is_valid() else ""
    plugins = selectors.plugin_catalogue(tenant=request.tenant, search=search)
    return render(
        request, "web/catalogue.html", {"form": form, "plugins": plugins, "search": search}
    )
