"""One place that turns every API error into `{"error": code, "detail": message}`."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any) -> Any:
    if isinstance(detail, list | dict):
        return detail
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped; validation errors keep their field-level messages."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {
            "error": "invalid",
            "detail": "The request is invalid; see fields.",
            "fields": _flatten(exc.detail),
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        body = {"error": code, "detail": _flatten(exc.detail)}
    else:
        body = {"error": "error", "detail": str(exc)}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        body["error"] = "unauthenticated"
    response.data = body
    return response
