"""Test-only controls of the e2e provider: request counters, injected faults, token expiry."""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.models import get_access_token_model

CONTROL_PREFIXES = ("/_stats/", "/_control/")


@dataclass
class Fault:
    """Answer the next `times` requests to `path` with `status` and `body`, after `delay` seconds."""

    path: str
    times: int
    status: int | None
    body: dict
    delay: float


_lock = threading.Lock()
_requests: Counter[str] = Counter()
_grants: Counter[str] = Counter()
_faults: list[Fault] = []


def _record(request: HttpRequest) -> Fault | None:
    """Count the request and pop the first fault that matches it."""
    grant_type = None
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        grant_type = QueryDict(request.body).get("grant_type")
    with _lock:
        _requests[f"{request.method} {request.path}"] += 1
        if grant_type and request.path.endswith("/o/token/"):
            _grants[grant_type] += 1
        for fault in _faults:
            if fault.path == request.path and fault.times > 0:
                fault.times -= 1
                return fault
    return None


class ControlMiddleware:
    """Count every request and apply injected faults before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Keep the next handler."""
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Record, maybe delay or fail, then handle."""
        if request.path.startswith(CONTROL_PREFIXES):
            return self.get_response(request)
        fault = _record(request)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                return JsonResponse(fault.body, status=fault.status)
        return self.get_response(request)


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Requests seen so far by "METHOD path", and token requests by grant type."""
    with _lock:
        return JsonResponse({"requests": dict(_requests), "grants": dict(_grants)})


@csrf_exempt
@require_POST
def reset(request: HttpRequest) -> JsonResponse:
    """Forget counters and faults."""
    with _lock:
        _requests.clear()
        _grants.clear()
        _faults.clear()
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def add_fault(request: HttpRequest) -> JsonResponse:
    """Register a fault from a JSON body: path, times (1), status (null = pass), body, delay."""
    data = json.loads(request.body or b"{}")
    fault = Fault(
        path=data["path"],
        times=int(data.get("times", 1)),
        status=data.get("status"),
        body=data.get("body") or {},
        delay=float(data.get("delay", 0)),
    )
    with _lock:
        _faults.append(fault)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def expire_tokens(request: HttpRequest) -> JsonResponse:
    """Expire every access token now (their refresh tokens stay usable)."""
    past = timezone.now() - timedelta(seconds=1)
    expired = get_access_token_model().objects.update(expires=past)
    return JsonResponse({"expired": expired})
