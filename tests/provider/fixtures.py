"""Pytest plugin: the e2e OAuth provider (add "tests.provider.fixtures" to pytest_plugins)."""

from collections.abc import Iterator

import pytest

from tests.provider.server import ProviderServer

REDIRECT_URIS = ["http://testserver/oauth/callback/", "http://localhost:8000/oauth/callback/"]


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[ProviderServer]:
    """A running demo provider shared by the whole session (one per xdist worker)."""
    server = ProviderServer(redirect_uris=REDIRECT_URIS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oauth_provider_reset(oauth_provider: ProviderServer) -> ProviderServer:
    """The session provider with counters and injected faults cleared."""
    oauth_provider.reset()
    return oauth_provider
