"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", Stripe-style."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Plugsmith-Signature"
TOLERANCE_SECONDS = 300


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: `t=<unix time>,v1=<hex digest>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(*, secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """Check a signature header as a receiver would (constant-time, with a replay window)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
