"""URLs of the test provider: the demo provider at the same path as in the main app, plus controls."""

from django.urls import include, path

from tests.provider import control

urlpatterns = [
    path("demo-provider/", include("apps.demo_provider.urls")),
    path("_stats/", control.stats, name="provider_stats"),
    path("_control/reset/", control.reset, name="provider_reset"),
    path("_control/fault/", control.add_fault, name="provider_fault"),
    path("_control/expire-tokens/", control.expire_tokens, name="provider_expire_tokens"),
]
