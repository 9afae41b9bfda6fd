"""The /healthz endpoint."""

from __future__ import annotations

import pytest

from apps.core import health
from apps.core.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthy_database_and_redis_broker_answer_200(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"


def test_unreachable_broker_answers_503(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"


def test_broken_database_answers_503(client, monkeypatch):
    class Broken:
        def __enter__(self):
            raise RuntimeError("down")

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: RuntimeError"


def test_embedded_filesystem_broker_is_healthy(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
    }
    assert client.get("/healthz").json()["broker"] == "ok"


def test_heartbeat_is_reported(client):
    stamp = heartbeat()
    assert client.get("/healthz").json()["last_heartbeat"] == stamp


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such API endpoint."}


def test_api_path_the_router_cannot_match_is_a_json_404(client):
    response = client.post("/api/v1/connections/00000000-0000-0000-0000-000000000000/proxy/%0Av")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_unknown_portal_path_is_the_html_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]
