"""A standalone Django project running the demo OAuth provider for end-to-end tests."""
