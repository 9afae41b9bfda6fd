"""Run the demo OAuth provider as a `runserver` subprocess and drive it from tests."""

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "tests.provider.settings"
MOUNT = "/demo-provider"
TIMEOUT = 10


def pkce_pair() -> tuple[str, str]:
    """Return a fresh (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query_params(url: str) -> dict[str, str]:
    """Return the single-valued query parameters of a URL."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class _HiddenInputs(HTMLParser):
    """Collect the hidden inputs of the consent form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"] or ""] = attributes.get("value") or ""


def _free_port() -> int:
    """Ask the OS for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProviderServer:
    """The demo provider in its own process, on its own SQLite database and loopback port."""

    def __init__(
        self,
        *,
        redirect_uris: Sequence[str],
        access_token_seconds: int = 3600,
        user_password: str = "demo-password",
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        """Configure; nothing runs until start()."""
        self.redirect_uris = list(redirect_uris)
        self.access_token_seconds = access_token_seconds
        self.user_password = user_password
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.port = 0
        self.credentials: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log_file: Any = None

    # Lifecycle

    def start(self) -> Self:
        """Create the database, provision the demo apps, start the server and wait for it."""
        self._workdir = Path(tempfile.mkdtemp(prefix="plugsmith-provider-"))
        env = self._env()
        self._manage(env, "migrate", "--noinput", "-v", "0")
        uri_args = [arg for uri in self.redirect_uris for arg in ("--redirect-uri", uri)]
        output = self._manage(
            env, "demo_provider_setup", *uri_args, "--password", self.user_password, "--json"
        )
        self.credentials = json.loads(output)
        self.port = _free_port()
        self._log_file = (self._workdir / "server.log").open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        """Stop the server and remove its database."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self) -> str:
        """Return what the server wrote so far (for failure messages)."""
        if self._workdir is None or not (self._workdir / "server.log").exists():
            return ""
        return (self._workdir / "server.log").read_text(errors="replace")

    def _env(self) -> dict[str, str]:
        """Environment of the provider processes: its own settings and database."""
        assert self._workdir is not None
        env = {**os.environ, **self.extra_env}
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            PROVIDER_DB_PATH=str(self._workdir / "provider.sqlite3"),
            PROVIDER_ACCESS_TOKEN_SECONDS=str(self.access_token_seconds),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _manage(self, env: dict[str, str], *args: str) -> str:
        """Run a management command in the provider's environment and return its stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.startup_timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"provider `{args[0]}` failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _wait_until_ready(self) -> None:
        """Poll the login page until the server answers, or fail with its log."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"provider exited early:\n{self.log()}")
            try:
                if requests.get(self.login_url, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("provider did not start in time")

    # URLs

    @property
    def base_url(self) -> str:
        """The server's origin, e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def provider_url(self) -> str:
        """Where the demo provider is mounted."""
        return self.base_url + MOUNT

    @property
    def issuer(self) -> str:
        """The RFC 9207 `iss` value sent in authorization responses."""
        return self.provider_url + "/o"

    @property
    def authorize_url(self) -> str:
        return self.provider_url + "/o/authorize/"

    @property
    def token_url(self) -> str:
        return self.provider_url + "/o/token/"

    @property
    def revoke_url(self) -> str:
        return self.provider_url + "/o/revoke_token/"

    @property
    def introspect_url(self) -> str:
        return self.provider_url + "/o/introspect/"

    @property
    def me_url(self) -> str:
        return self.provider_url + "/api/me"

    @property
    def echo_url(self) -> str:
        return self.provider_url + "/api/echo"

    @property
    def login_url(self) -> str:
        return self.provider_url + "/accounts/login/"

    # Credentials

    def client(self, key: str) -> dict[str, Any]:
        """One demo app's credentials: key is pkce, web, public, service or password."""
        return self.credentials["clients"][key]

    @property
    def username(self) -> str:
        return self.credentials["username"]

    @property
    def password(self) -> str:
        return self.credentials["password"]

    # Flows

    def authorization_url(
        self,
        client_key: str,
        *,
        redirect_uri: str | None = None,
        scope: str = "read profile",
        state: str = "state-123",
        code_challenge: str | None = None,
        **extra: str,
    ) -> str:
        """Build an authorization request URL for a demo app."""
        params = {
            "response_type": "code",
            "client_id": self.client(client_key)["client_id"],
            "redirect_uri": redirect_uri or self.redirect_uris[0],
            "scope": scope,
            "state": state,
            **extra,
        }
        if code_challenge:
            params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.authorize_url}?{urlencode(params)}"

    def signed_in_session(
        self, *, username: str | None = None, password: str | None = None
    ) -> requests.Session:
        """Return a requests session signed in to the demo provider."""
        session = requests.Session()
        session.get(self.login_url, timeout=TIMEOUT).raise_for_status()
        response = session.post(
            self.login_url,
            data={
                "username": username or self.username,
                "password": password or self.password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if not response.is_redirect:
            raise AssertionError(f"demo provider login failed ({response.status_code})")
        return session

    def login_and_authorize(
        self,
        authorize_url: str,
        *,
        approve: bool = True,
        username: str | None = None,
        password: str | None = None,
    ) -> str:
        """Sign in, answer the consent page, and return the redirect Location without following it."""
        session = self.signed_in_session(username=username, password=password)
        response = session.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
        if response.is_redirect:
            # An error the provider sends back to the client (e.g. PKCE missing).
            return response.headers["Location"]
        if response.status_code != 200:
            raise AssertionError(f"authorization page answered {response.status_code}")
        parser = _HiddenInputs()
        parser.feed(response.text)
        form = dict(parser.fields)
        if approve:
            form["allow"] = "Approve"
        consent = session.post(
            response.url,
            data=form,
            headers={"Referer": response.url},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if not consent.is_redirect:
            raise AssertionError(f"consent answered {consent.status_code}: {consent.text[:500]}")
        return consent.headers["Location"]

    def token_is_active(self, token: str) -> bool:
        """Ask the introspection endpoint (as the service app) whether an access token is live."""
        service = self.client("service")
        response = requests.post(
            self.introspect_url,
            data={"token": token},
            auth=(service["client_id"], service["client_secret"]),
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return bool(response.json()["active"])

    # Test controls

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests seen since the last reset: {"requests": {"POST /path": n}, "grants": {...}}."""
        response = requests.get(self.base_url + "/_stats/", timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def request_count(self, path: str, method: str = "POST") -> int:
        """How many `method` requests reached `path` (e.g. "/demo-provider/o/token/")."""
        return self.stats()["requests"].get(f"{method} {path}", 0)

    def token_requests(self, grant_type: str | None = None) -> int:
        """How many token requests arrived, optionally only of one grant type."""
        if grant_type is None:
            return self.request_count(MOUNT + "/o/token/")
        return self.stats()["grants"].get(grant_type, 0)

    def reset(self) -> None:
        """Forget request counters and injected faults."""
        requests.post(self.base_url + "/_control/reset/", timeout=TIMEOUT).raise_for_status()

    def fail_next(
        self,
        path: str = MOUNT + "/o/token/",
        *,
        status: int | None = 503,
        times: int = 1,
        body: Mapping[str, Any] | None = None,
        delay: float = 0,
    ) -> None:
        """Answer the next `times` requests to `path` with `status` (None: only delay them)."""
        payload = {
            "path": path,
            "status": status,
            "times": times,
            "body": dict(body or {"error": "temporarily_unavailable"}),
            "delay": delay,
        }
        requests.post(
            self.base_url + "/_control/fault/", json=payload, timeout=TIMEOUT
        ).raise_for_status()

    def expire_access_tokens(self) -> int:
        """Expire every access token now; returns how many."""
        response = requests.post(self.base_url + "/_control/expire-tokens/", timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["expired"]
