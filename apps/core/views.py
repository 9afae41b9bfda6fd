"""Operational endpoints."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import broker_status, database_status, last_heartbeat


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status as JSON: 200 when both are ok, 503 otherwise."""
    checks = {"database": database_status(), "broker": broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", **checks, "last_heartbeat": last_heartbeat()}
    return JsonResponse(body, status=200 if healthy else 503)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: the API's JSON error shape under /api/, the portal's page elsewhere."""
    if _wants_json(request):
        return JsonResponse({"error": "not_found", "detail": "No such API endpoint."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/, the plain error page elsewhere."""
    if _wants_json(request):
        return JsonResponse(
            {"error": "server_error", "detail": "Internal server error."}, status=500
        )
    return defaults.server_error(request)
