"""Idempotent setup of the demo provider's resource owner and OAuth applications."""

from dataclasses import asdict, dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AbstractApplication, get_application_model

from apps.demo_provider.settings import (
    PASSWORD_CLIENT_ID,
    PKCE_CLIENT_ID,
    PUBLIC_CLIENT_ID,
    SERVICE_CLIENT_ID,
    WEB_CLIENT_ID,
    pkce_required,
)

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_FIRST_NAME = "Dana"
DEMO_LAST_NAME = "Demo"


@dataclass(frozen=True)
class ClientSpec:
    """What one demo OAuth application looks like."""

    key: str
    client_id: str
    name: str
    client_type: str
    grant_type: str


CLIENT_SPECS = (
    ClientSpec(
        key="pkce",
        client_id=PKCE_CLIENT_ID,
        name="Demo PKCE app",
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
    ),
    ClientSpec(
        key="web",
        client_id=WEB_CLIENT_ID,
        name="Demo web app (no PKCE)",
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
    ),
    ClientSpec(
        key="public",
        client_id=PUBLIC_CLIENT_ID,
        name="Demo public app",
        client_type=AbstractApplication.CLIENT_PUBLIC,
        grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
    ),
    ClientSpec(
        key="service",
        client_id=SERVICE_CLIENT_ID,
        name="Demo service app",
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        grant_type=AbstractApplication.GRANT_CLIENT_CREDENTIALS,
    ),
    ClientSpec(
        key="password",
        client_id=PASSWORD_CLIENT_ID,
        name="Demo password app",
        client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        grant_type=AbstractApplication.GRANT_PASSWORD,
    ),
)


@dataclass(frozen=True)
class DemoClient:
    """One demo application's credentials, secret in plaintext (empty for the public client)."""

    key: str
    client_id: str
    client_secret: str
    name: str
    client_type: str
    grant_type: str
    pkce_required: bool


@dataclass(frozen=True)
class DemoProvider:
    """Everything a client of the demo provider needs to know."""

    username: str
    password: str
    email: str
    name: str
    clients: dict[str, DemoClient] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return asdict(self)


def ensure_demo_provider(
    *,
    redirect_uris: list[str],
    user_password: str,
    username: str = DEMO_USERNAME,
    rotate_secrets: bool = False,
) -> DemoProvider:
    """Create or update the demo user and applications; return their plaintext credentials."""
    with transaction.atomic():
        user = ensure_demo_user(username=username, password=user_password)
        clients = {
            spec.key: ensure_demo_client(
                spec=spec, redirect_uris=redirect_uris, rotate_secret=rotate_secrets
            )
            for spec in CLIENT_SPECS
        }
    return DemoProvider(
        username=user.get_username(),
        password=user_password,
        email=user.email,
        name=user.get_full_name(),
        clients=clients,
    )


def ensure_demo_user(*, username: str, password: str):
    """Create or update the resource owner that signs in at the demo provider."""
    user, _ = get_user_model().objects.update_or_create(
        username=username,
        defaults={
            "email": DEMO_EMAIL,
            "first_name": DEMO_FIRST_NAME,
            "last_name": DEMO_LAST_NAME,
            "is_active": True,
        },
    )
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def ensure_demo_client(
    *, spec: ClientSpec, redirect_uris: list[str], rotate_secret: bool = False
) -> DemoClient:
    """Create or update one demo application, keeping its secret unless asked to rotate it."""
    application_model = get_application_model()
    application = application_model.objects.filter(client_id=spec.client_id).first()
    if application is None:
        application = application_model(client_id=spec.client_id)
    confidential = spec.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
    if not confidential:
        secret = ""
    elif rotate_secret or application.pk is None or _is_hashed(application.client_secret):
        secret = generate_client_secret()
    else:
        secret = application.client_secret
    uses_redirects = spec.grant_type == AbstractApplication.GRANT_AUTHORIZATION_CODE
    application.name = spec.name
    application.client_type = spec.client_type
    application.authorization_grant_type = spec.grant_type
    application.redirect_uris = " ".join(dict.fromkeys(redirect_uris)) if uses_redirects else ""
    application.skip_authorization = False
    application.client_secret = secret
    # DOT hashes secrets on save by default; the demo keeps them readable so that
    # `demo_provider_setup` can print the same secret on every run.
    application.hash_client_secret = False
    application.save()
    return DemoClient(
        key=spec.key,
        client_id=spec.client_id,
        client_secret=secret,
        name=spec.name,
        client_type=spec.client_type,
        grant_type=spec.grant_type,
        pkce_required=uses_redirects and pkce_required(spec.client_id),
    )


def _is_hashed(secret: str) -> bool:
    """Tell whether a stored client secret is a Django password hash (unrecoverable)."""
    try:
        identify_hasher(secret)
    except ValueError:
        return False
    return True
