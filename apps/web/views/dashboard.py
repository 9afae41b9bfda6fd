"""The dashboard: connection health at a glance."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.web import selectors
from apps.web.charts import activity_chart
from apps.web.permissions import member_required


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Status counts, the last 14 days of refreshes and failures, and what needs attention."""
    tenant = request.tenant
    counts = selectors.connection_status_counts(tenant=tenant)
    return render(
        request,
        "web/dashboard.html",
        {
            "counts": counts,
            "total": sum(counts.values()),
            "chart": activity_chart(selectors.connection_activity(tenant=tenant)),
            "attention": selectors.connections_needing_attention(tenant=tenant),
        },
    )
