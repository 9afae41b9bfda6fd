"""Property-based check of the whole API against its own OpenAPI schema (no 500, no violation).

Bounded: SCHEMATHESIS_MAX_EXAMPLES examples per operation (default 15 in the normal suite; .ci/run
runs a deeper pass), no deadline per example.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))


def _load_schema() -> schemathesis.BaseSchema:
    """The served schema, fetched once through the WSGI app (the schema view needs no database)."""
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    """As Django's test client does: a request must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, issued_key):
    """Every generated request gets a documented, schema-valid answer and never a 500."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {issued_key.secret}"},
        # Schema-valid is not always acceptable: a plugin slug must name an existing plugin.
        excluded_checks=[positive_data_acceptance],
    )
