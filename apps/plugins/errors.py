"""Typed errors raised by the plugin machinery and turned into clear messages at the edges."""

from __future__ import annotations


class PlugsmithError(Exception):
    """Base class of every application error."""


class ConfigurationError(PlugsmithError):
    """The plugin (auth version) is configured in a way that cannot work; staff must fix it."""


class TemplateError(ConfigurationError):
    """A template has a syntax error, an unknown name, or refers to a value that is missing."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class UrlNotAllowedError(ConfigurationError):
    """An outbound URL is refused (scheme, host, address or allowed_urls)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"URL not allowed: {url} ({reason})")
        self.url = url
        self.reason = reason


class ProviderError(PlugsmithError):
    """The provider answered with an error (or an answer we cannot use)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.error_description = error_description


class InvalidGrant(ProviderError):
    """The grant (code or refresh token) is dead: the user must connect again; never retried."""


class TransientProviderError(ProviderError):
    """Timeouts, connection errors, rate limits, 5xx and unparseable answers: retry with backoff."""
