"""Encrypted model fields keyed by FIELD_ENCRYPTION_KEYS instead of SECRET_KEY.

django-fernet-encrypted-fields derives its keys from SECRET_KEY; we override only the key source
(so rotating Django's secret never loses data) and make decryption strict: a value that no
configured key can decrypt raises instead of leaking the ciphertext through as if it were data.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from encrypted_fields.fields import EncryptedFieldMixin


class DecryptionError(RuntimeError):
    """A stored value could not be decrypted with any key in FIELD_ENCRYPTION_KEYS."""


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise DecryptionError("FIELD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


@lru_cache(maxsize=1024)
def _decrypt(keys: tuple[str, ...], token: str) -> str:
    # Every API call decrypts its connection's tokens, fields and client secret again; a Fernet
    # token (random IV) always decrypts to the same text, so recent ones are remembered. This
    # holds no secret the process could not decrypt anyway: it has the keys.
    return _fernet_for(keys).decrypt(token.encode()).decode()


def field_fernet() -> MultiFernet:
    """The MultiFernet for the configured keys: the first key encrypts, every key decrypts."""
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def primary_fernet() -> Fernet:
    """A Fernet holding only the primary (encrypting) key."""
    return Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())


class KeyedEncryptionMixin(EncryptedFieldMixin):
    """Encrypt with FIELD_ENCRYPTION_KEYS; decrypt strictly when reading from the database."""

    @property
    def f(self) -> MultiFernet:  # type: ignore[override]
        return field_fernet()

    @property
    def keys(self) -> list[bytes]:  # type: ignore[override]
        return [key.encode() for key in settings.FIELD_ENCRYPTION_KEYS]

    def decrypt_raw(self, raw: str) -> str:
        """Decrypt a stored token, naming the column when no key fits."""
        try:
            return _decrypt(tuple(settings.FIELD_ENCRYPTION_KEYS), raw)
        except InvalidToken as exc:
            raise DecryptionError(
                f"{self.model.__name__}.{self.name}: no key in FIELD_ENCRYPTION_KEYS decrypts "
                "the stored value (was a key removed before rotate_encryption_keys ran?)"
            ) from exc

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self._parse_plaintext(self.decrypt_raw(value))

    def to_python(self, value: Any) -> Any:
        # Values arriving here come from forms or assignment and are already plaintext.
        return super(EncryptedFieldMixin, self).to_python(value)

    def _parse_plaintext(self, plaintext: str) -> Any:
        return super(EncryptedFieldMixin, self).to_python(plaintext)


class EncryptedTextField(KeyedEncryptionMixin, models.TextField):
    """A text column stored as a Fernet token; empty strings are stored as NULL."""


class EncryptedJSONField(KeyedEncryptionMixin, models.TextField):
    """A JSON document encrypted as a whole (keys and value types survive the round trip)."""

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        plaintext = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
        return self.f.encrypt(plaintext.encode()).decode()

    def _parse_plaintext(self, plaintext: str) -> Any:
        return json.loads(plaintext)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder)

    def formfield(self, **kwargs: Any) -> forms.Field:
        return forms.JSONField(encoder=DjangoJSONEncoder, **kwargs)


def encrypted_fields_of(model: type[models.Model]) -> list[KeyedEncryptionMixin]:
    """The encrypted concrete fields of a model."""
    return [f for f in model._meta.concrete_fields if isinstance(f, KeyedEncryptionMixin)]
