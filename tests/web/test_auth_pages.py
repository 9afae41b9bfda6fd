"""Django's login, logout and password reset views with the portal's templates."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_login_page_offers_signup_and_password_reset(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/signup/"' in page
    assert 'href="/accounts/password_reset/"' in page


def test_login_with_email_lands_on_the_dashboard(client, member):
    response = client.post("/accounts/login/", {"username": member.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_shows_an_error(client, member):
    response = client.post("/accounts/login/", {"username": member.email, "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_logout_goes_back_to_login(web_client):
    response = web_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


def test_password_reset_emails_a_working_link(client):
    user = UserFactory(username="reset@example.com")
    response = client.post("/accounts/password_reset/", {"email": "reset@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox[0].subject == "Reset your Plugsmith password"
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    page = client.get(link, follow=True)
    assert "Choose a new password" in page.content.decode()
    new = "an entirely new passphrase"
    done = client.post(
        page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Your password is set" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)
