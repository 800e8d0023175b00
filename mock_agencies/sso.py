"""SSO MPP Digital: the national sign-in, an OpenID Connect provider built on Authlib's server classes.

Discovery, JWKS (RS256, `kid` rotation), authorization code with PKCE (S256 only), refresh tokens (rotated),
userinfo, RP-initiated logout, and Indonesian sign-in ("Masuk") and sign-up ("Daftar") pages. Sign-up verifies the
citizen against Dukcapil through the bus's identity verification API, with a client-credentials token the provider
mints for its own service account; without a configured bus API, sign-up is refused (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import os
import secrets
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from mock_agencies.httpbase import Request, Response, json_response
from mock_agencies.population import Population

SESSION_COOKIE = "sso_sesi"
CSRF_COOKIE = "sso_csrf"
SCOPES = ("openid", "profile", "nik")
LOGIN_LIMIT = 5  # failed sign-ins per account and address before a pause
LOGIN_WINDOW = 900


@dataclass
class SsoConfig:
    """The provider's settings; development defaults live here only, in the mock. Env: MOCK_SSO_*."""

    issuer: str
    client_id: str = "mpp-portal"
    client_secret: str = "portal-rahasia"
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8080/auth/callback",)
    post_logout_redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8080/",)
    audience: str = "mpp-bus-api"
    access_ttl: int = 300
    id_ttl: int = 600
    refresh_ttl: int = 8 * 3600
    key_retire_seconds: int = 3600  # a rotated-out key stays published this long, for tokens it signed
    service_client_id: str = "sso-mpp-digital"
    bus_api_url: str | None = None  # unset: sign-up cannot verify, so it refuses
    verify_purpose: str = "sign-up verification"  # one of the bus's X-Purpose vocabulary (MPP_API_PURPOSES)
    data_dir: str | None = None  # users in <data_dir>/sso-users.sqlite3; None keeps them in memory
    demo_users: int = 0  # > 0 (a development flag): citizens 0..N-1 of the population pre-registered
    demo_password: str = "Demo-MPP-2024"

    @classmethod
    def from_env(cls, issuer: str, env: dict[str, str] | None = None, **overrides: Any) -> SsoConfig:
        e = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}

        def split(text: str) -> tuple[str, ...]:
            return tuple(u.strip() for u in text.split(",") if u.strip())

        for name, key, conv in [("client_id", "CLIENT_ID", str), ("client_secret", "CLIENT_SECRET", str),
                                ("redirect_uris", "REDIRECT_URIS", split),
                                ("post_logout_redirect_uris", "POST_LOGOUT_REDIRECT_URIS", split),
                                ("audience", "AUDIENCE", str), ("access_ttl", "ACCESS_TTL", int),
                                ("bus_api_url", "BUS_API_URL", str), ("verify_purpose", "VERIFY_PURPOSE", str),
                                ("service_client_id", "SERVICE_CLIENT_ID", str), ("data_dir", "DATA_DIR", str),
                                ("demo_users", "DEMO_USERS", int), ("demo_password", "DEMO_PASSWORD", str)]:
            if e.get(f"MOCK_SSO_{key}"):
                values[name] = conv(e[f"MOCK_SSO_{key}"])  # type: ignore[operator]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(issuer=e.get("MOCK_SSO_ISSUER") or issuer, **values)


# --- keys ----------------------------------------------------------------------------------------------------------


class KeyRing:
    """RS256 signing keys: the newest signs; a rotated-out key stays in the JWKS until it retires."""

    def __init__(self, retire_seconds: int) -> None:
        self.retire_seconds = retire_seconds
        self._lock = threading.Lock()
        self._keys: list[tuple[RSAKey, float | None]] = []  # (key, retires at); the last one signs
        self.rotate()

    def rotate(self) -> str:
        key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "alg": "RS256", "use": "sig"})
        with self._lock:
            now = time.time()
            self._keys = [(k, r if r is not None else now + self.retire_seconds) for k, r in self._keys
                          if r is None or r > now]
            self._keys.append((key, None))
        return str(key.kid)

    @property
    def current(self) -> RSAKey:
        with self._lock:
            return self._keys[-1][0]

    def public_set(self) -> KeySet:
        now = time.time()
        with self._lock:
            return KeySet([RSAKey.import_key(k.as_dict(private=False)) for k, r in self._keys
                           if r is None or r > now])

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        key = self.current
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": typ}, claims, key, algorithms=["RS256"])

    def verify(self, token: str) -> dict[str, Any]:
        return dict(jwt.decode(token, self.public_set(), algorithms=["RS256"]).claims)


# --- users ---------------------------------------------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt (n=2**14, r=8, p=1): memory-hard, in the standard library."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@dataclass(frozen=True)
class User:
    sub: str
    nik: str
    name: str
    roles: tuple[str, ...] = ("citizen",)
    birthdate: str = ""  # YYYY-MM-DD as Dukcapil has it (OIDC `birthdate`); empty when not known

    def get_user_id(self) -> str:
        return self.sub


class Users:
    """Registered citizens in SQLite (a file under the data dir, or memory): an opaque sub, never the NIK as id."""

    def __init__(self, path: str | None) -> None:
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS users (sub TEXT PRIMARY KEY, nik TEXT UNIQUE NOT NULL, "
                             "name TEXT NOT NULL, password TEXT NOT NULL, roles TEXT NOT NULL, "
                             "birthdate TEXT NOT NULL DEFAULT '')")
            # A users file from before birth dates were kept gains the column, empty for its users.
            if "birthdate" not in {row[1] for row in self._db.execute("PRAGMA table_info(users)")}:
                self._db.execute("ALTER TABLE users ADD COLUMN birthdate TEXT NOT NULL DEFAULT ''")

    def add(self, nik: str, name: str, password_hash: str, roles: tuple[str, ...] = ("citizen",), *,
            birthdate: str = "") -> User | None:
        user = User(secrets.token_hex(16), nik, name, roles, birthdate)
        try:
            with self._lock, self._db:
                self._db.execute("INSERT INTO users (sub, nik, name, password, roles, birthdate) VALUES "
                                 "(?, ?, ?, ?, ?, ?)", (user.sub, nik, name, password_hash, " ".join(roles), birthdate))
        except sqlite3.IntegrityError:
            return None  # the NIK is registered already
        return user

    def _one(self, column: str, value: str) -> tuple[User, str] | None:
        with self._lock:
            row = self._db.execute(f"SELECT sub, nik, name, password, roles, birthdate FROM users WHERE {column} = ?",
                                   (value,)).fetchone()
        if row is None:
            return None
        return User(row[0], row[1], row[2], tuple(row[4].split()), row[5]), row[3]

    def by_sub(self, sub: str) -> User | None:
        found = self._one("sub", sub)
        return found[0] if found else None

    def by_nik(self, nik: str) -> tuple[User, str] | None:
        return self._one("nik", nik)


# --- OAuth2 / OIDC plumbing ----------------------------------------------------------------------------------------


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client_metadata = {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    auth_time: int
    challenge: str
    challenge_method: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass
class RefreshRecord:
    token: str
    client_id: str
    sub: str
    scope: str
    expires_at: float
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked


class _Payload(BasicOAuth2Payload):  # type: ignore[misc]
    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        super().__init__(data)
        self._datalist = datalist


class _OAuthRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: Request, issuer: str) -> None:
        query = urlencode(request.query)
        super().__init__(request.method, f"{issuer}{request.path}{'?' + query if query else ''}",
                         headers={k: v for k, v in request.headers.items()})
        pairs = list(request.query.items())
        self._form: dict[str, str] = {}
        if request.method == "POST":
            form_pairs = parse_qsl(request.body.decode(errors="replace"), keep_blank_values=True)
            self._form = dict(form_pairs)
            pairs += form_pairs
        datalist: dict[str, list[str]] = {}
        for k, v in pairs:
            datalist.setdefault(k, []).append(v)
        self.payload = _Payload(dict(pairs), datalist)
        self.raw = request

    @property
    def args(self) -> dict[str, str]:
        return dict(self.raw.query)

    @property
    def form(self) -> dict[str, str]:
        return self._form


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE required of every client, S256 only (plain would let a stolen code through)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            from authlib.oauth2.rfc6749.errors import InvalidRequestError
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthCode) -> str:
        return authorization_code.challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthCode) -> str:
        return authorization_code.challenge_method


class SsoServer:
    """The provider: an Authlib AuthorizationServer wired to in-process stores, plus the citizen pages."""

    agency = "sso"

    def __init__(self, config: SsoConfig, population: Population | None = None) -> None:
        self.config = config
        self.keys = KeyRing(config.key_retire_seconds)
        self.users = Users(os.path.join(config.data_dir, "sso-users.sqlite3") if config.data_dir else None)
        self.client = Client(config.client_id, config.client_secret, config.redirect_uris,
                             config.post_logout_redirect_uris)
        self.service = Client(config.service_client_id, secrets.token_urlsafe(24), (), (), ("client_credentials",))
        self._lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.refresh: dict[str, RefreshRecord] = {}
        self.sessions: dict[str, tuple[str, int]] = {}  # session id -> (sub, auth time)
        self.failures: dict[tuple[str, str], list[float]] = {}
        self._service_token: tuple[str, float] | None = None
        if population is not None and config.demo_users > 0:
            self._seed_demo(population, config.demo_users)
        self.oauth = self._build_oauth()

    def _seed_demo(self, population: Population, count: int) -> None:
        # One hash for every demo account (same password, same salt): hashing hundreds with scrypt at start would
        # take seconds, and these accounts exist only behind the explicit demo flag.
        stored = hash_password(self.config.demo_password)
        for i in range(min(count, population.count)):
            c = population.citizen(i).public_dict()
            self.users.add(str(c["nik"]), str(c["nama_lengkap"]), stored, birthdate=str(c["tanggal_lahir"]))

    # --- Authlib wiring ------------------------------------------------------------------------------------------

    def _build_oauth(self) -> AuthorizationServer:
        sso = self

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> Client | None:
                return sso.client if client_id == sso.client.client_id else None

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                if token.get("refresh_token") and request.user is not None:
                    with sso._lock:
                        sso.refresh[token["refresh_token"]] = RefreshRecord(
                            token["refresh_token"], request.client.client_id, request.user.sub,
                            token.get("scope", ""), time.time() + sso.config.refresh_ttl)

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                return request if isinstance(request, OAuth2Request) else _OAuthRequest(request, sso.config.issuer)

            def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
                out = dict(headers)
                content_type = out.pop("Content-Type", "application/json")
                data = json.dumps(body).encode() if isinstance(body, dict) else str(body or "").encode()
                return Response(status, data, content_type, {**out, "Cache-Control": "no-store"})

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                return None

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                with sso._lock:
                    sso.codes[code] = AuthCode(code, request.client.client_id, data.get("redirect_uri", ""),
                                               request.scope or "", request.user.sub, data.get("nonce"),
                                               request.user_auth_time, data["code_challenge"],
                                               data["code_challenge_method"], time.time() + 300)

            def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
                found = sso.codes.get(code)
                if found and found.client_id == client.client_id and found.expires_at > time.time():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: AuthCode) -> None:
                with sso._lock:
                    sso.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: AuthCode) -> User | None:
                return sso.users.by_sub(authorization_code.sub)

        class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012
            INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: a refresh token is used once

            def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
                found = sso.refresh.get(refresh_token)
                return found if found and not found.revoked and not found.is_expired() else None

            def authenticate_user(self, refresh_token: RefreshRecord) -> User | None:
                return sso.users.by_sub(refresh_token.sub)

            def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
                refresh_token.revoked = True

        class OpenID(OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(c.nonce == nonce for c in list(sso.codes.values()))

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return sso.keys.current

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(sso.keys.current.kid), "typ": "JWT"}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": sso.config.issuer, "aud": client.client_id,  # a string: logout resolves the client
                        "exp": int(time.time()) + sso.config.id_ttl}

            def generate_user_info(self, user: User, scope: str) -> UserInfo:
                return sso.user_info(user)

        class EndSession(EndSessionEndpoint):  # type: ignore[misc]
            def get_server_jwks(self) -> KeySet:
                return sso.keys.public_set()

            def get_algorithms(self) -> list[str]:
                return ["RS256"]

            def end_session(self, end_session_request: EndSessionRequest) -> None:
                claims = end_session_request.id_token_claims or {}
                sso.end_sessions(claims.get("sub"), end_session_request.request.raw)

        server = Server(scopes_supported=list(SCOPES))
        server.register_token_generator("default", self._generate_token)
        server.register_grant(CodeGrant, [S256Challenge(required=True), OpenID(require_nonce=False)])
        server.register_grant(RefreshGrant)
        server.register_endpoint(EndSession)
        return server

    def user_info(self, user: User) -> UserInfo:
        # Standard OIDC profile claims (name, birthdate), which the portal pre-fills forms from, then ours.
        info = UserInfo(sub=user.sub, name=user.name, nik=user.nik, roles=list(user.roles))
        if user.birthdate:
            info["birthdate"] = user.birthdate
        return info

    def _generate_token(self, grant_type: str, client: Client, user: User | None = None, scope: str | None = None,
                        expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        """A JWT access token (RFC 9068 shape) carrying `nik` and `roles`, and an opaque refresh token."""
        now = int(time.time())
        ttl = expires_in or self.config.access_ttl
        claims: dict[str, Any] = {"iss": self.config.issuer, "aud": self.config.audience, "iat": now,
                                  "exp": now + ttl, "jti": secrets.token_hex(12), "client_id": client.client_id,
                                  "scope": scope or ""}
        if user is not None:
            claims.update(sub=user.sub, nik=user.nik, roles=list(user.roles))
        else:
            claims.update(sub=client.client_id, roles=["identity_verifier"])
        token = {"token_type": "Bearer", "access_token": self.keys.sign(claims, typ="at+jwt"), "expires_in": ttl,
                 "scope": scope or ""}
        if include_refresh_token and user is not None and grant_type != "client_credentials":
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def service_token(self) -> str:
        """The provider's own client-credentials access token for the bus API (role identity_verifier)."""
        with self._lock:
            cached = self._service_token
        if cached and cached[1] > time.time() + 30:
            return cached[0]
        token = self.oauth.generate_token("client_credentials", self.service, None, "identity:verify", None, False)
        with self._lock:
            self._service_token = (token["access_token"], time.time() + token["expires_in"])
        return str(token["access_token"])

    def end_sessions(self, sub: str | None, request: Request | None) -> None:
        """Logout: the browser's session here and every refresh token of that citizen for the portal."""
        sid = _cookies(request).get(SESSION_COOKIE) if request is not None else None
        with self._lock:
            if sid:
                found = self.sessions.pop(sid, None)
                sub = sub or (found[0] if found else None)
            if sub:
                for record in self.refresh.values():
                    if record.sub == sub:
                        record.revoked = True
                for key in [k for k, v in self.sessions.items() if v[0] == sub]:
                    del self.sessions[key]

    # --- HTTP ----------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            response = self._route(request)
        except OAuth2Error as error:
            response = self.oauth.handle_error_response(None, error)
        return _secure(response, self._form_targets())

    def _route(self, request: Request) -> Response:
        route = (request.method, request.path)
        if request.path == "/health":
            return json_response(200, {"status": "ok", "agency": self.agency})
        if route == ("GET", "/.well-known/openid-configuration"):
            return json_response(200, self.metadata())
        if route == ("GET", "/jwks.json"):
            return json_response(200, self.keys.public_set().as_dict(private=False),
                                 {"Cache-Control": "public, max-age=60"})
        if route == ("POST", "/admin/keys/rotate"):
            if request.headers.get("X-Admin-Token") != "mock-admin":
                return json_response(403, {"error": "admin token missing or wrong (X-Admin-Token)"})
            return json_response(200, {"kid": self.keys.rotate()})
        if request.path == "/authorize" and request.method in ("GET", "POST"):
            return self.authorize(request)
        if route == ("POST", "/token"):
            return self.oauth.create_token_response(request)  # type: ignore[no-any-return]
        if request.path == "/userinfo" and request.method in ("GET", "POST"):
            return self.userinfo(request)
        if request.path == "/logout" and request.method in ("GET", "POST"):
            return self.logout(request)
        if request.path == "/masuk":
            return self.login(request)
        if request.path == "/daftar":
            return self.signup(request)
        return _page(404, "Halaman tidak ditemukan", "<p>Alamat yang Anda buka tidak ada.</p>")

    def metadata(self) -> dict[str, Any]:
        iss = self.config.issuer
        return {"issuer": iss, "authorization_endpoint": f"{iss}/authorize", "token_endpoint": f"{iss}/token",
                "userinfo_endpoint": f"{iss}/userinfo", "jwks_uri": f"{iss}/jwks.json",
                "end_session_endpoint": f"{iss}/logout", "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"], "scopes_supported": list(SCOPES),
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "claims_supported": ["sub", "name", "birthdate", "nik", "roles", "iss", "aud", "exp", "iat",
                                     "auth_time", "nonce"]}

    def _session_user(self, request: Request) -> tuple[User, int] | None:
        sid = _cookies(request).get(SESSION_COOKIE)
        found = self.sessions.get(sid) if sid else None
        user = self.users.by_sub(found[0]) if found else None
        return (user, found[1]) if user and found else None

    def authorize(self, request: Request) -> Response:
        oauth_request = _OAuthRequest(request, self.config.issuer)
        grant = self.oauth.get_consent_grant(oauth_request)  # OAuth2Error: answered by handle()
        signed_in = self._session_user(request)
        if signed_in is None or oauth_request.payload.data.get("prompt") == "login":
            query = urlencode({k: v for k, v in request.query.items() if k != "prompt"})
            return _redirect("/masuk?" + urlencode({"lanjut": f"/authorize?{query}"}))
        oauth_request.user_auth_time = signed_in[1]
        return self.oauth.create_authorization_response(oauth_request, signed_in[0], grant)  # type: ignore[no-any-return]

    def userinfo(self, request: Request) -> Response:
        auth = request.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token:
                raise JoseError("no bearer token")
            claims = self.keys.verify(token.strip())
            if claims.get("iss") != self.config.issuer or int(claims.get("exp", 0)) <= time.time():
                raise JoseError("token expired or from another issuer")
        except (JoseError, ValueError):
            return json_response(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        user = self.users.by_sub(str(claims.get("sub")))
        if user is None:
            return json_response(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return json_response(200, dict(self.user_info(user)), {"Cache-Control": "no-store"})

    def logout(self, request: Request) -> Response:
        oauth_request = _OAuthRequest(request, self.config.issuer)
        checked = self.oauth.validate_endpoint_request("end_session", oauth_request)
        if checked.needs_confirmation and request.method == "GET":
            # without id_token_hint, another site could sign the citizen out: ask first (a form with CSRF)
            csrf = _csrf(request)
            body = (f'<p>Keluar dari SSO MPP Digital?</p><form method="post" action="/logout">'
                    f'{_hidden(csrf)}<button type="submit">Keluar</button></form>')
            return _with_csrf(_page(200, "Keluar", body), csrf)
        if checked.needs_confirmation and not _csrf_ok(request):
            return _page(403, "Permintaan ditolak", "<p>Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.</p>")
        response = self.oauth.create_endpoint_response("end_session", checked)
        if response is None:
            response = _page(200, "Anda telah keluar", "<p>Anda telah keluar dari SSO MPP Digital.</p>")
        response.headers["Set-Cookie"] = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        return response  # type: ignore[no-any-return]

    # --- pages ---------------------------------------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        target = request.query.get("lanjut", "")
        if not target.startswith("/authorize?"):
            target = ""
        if request.method != "POST":
            return self._login_page(request, target)
        form = dict(parse_qsl(request.body.decode(errors="replace")))
        target = form.get("lanjut", "") if form.get("lanjut", "").startswith("/authorize?") else ""
        if not _csrf_ok(request, form):
            return self._login_page(request, target, "Formulir kedaluwarsa. Silakan coba lagi.", 403)
        nik, password = form.get("nik", "").strip(), form.get("kata_sandi", "")
        key = (hashlib.sha256(nik.encode()).hexdigest(), request.client)
        now = time.time()
        with self._lock:
            recent = [t for t in self.failures.get(key, []) if t > now - LOGIN_WINDOW]
            self.failures[key] = recent
        if len(recent) >= LOGIN_LIMIT:
            return self._login_page(request, target, "Terlalu banyak percobaan masuk. Coba lagi dalam 15 menit.",
                                    429)
        found = self.users.by_nik(nik) if nik.isascii() and nik.isdigit() and len(nik) == 16 else None
        if found is None or not check_password(password, found[1]):
            with self._lock:
                self.failures.setdefault(key, []).append(now)
            return self._login_page(request, target, "NIK atau kata sandi salah.", 401)
        with self._lock:
            self.failures.pop(key, None)
            sid = secrets.token_urlsafe(32)
            self.sessions[sid] = (found[0].sub, int(now))
        response = _redirect(target or "/masuk?berhasil=1")
        response.headers["Set-Cookie"] = f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"
        return response

    def _login_page(self, request: Request, target: str, error: str = "", status: int = 200) -> Response:
        csrf = _csrf(request)
        done = "<p>Anda sudah masuk.</p>" if request.query.get("berhasil") and not error else ""
        body = (f"{done}{_error(error)}<form method=\"post\" action=\"/masuk\">{_hidden(csrf)}"
                f"<input type=\"hidden\" name=\"lanjut\" value=\"{html.escape(target)}\">"
                "<label>NIK <input name=\"nik\" inputmode=\"numeric\" maxlength=\"16\" required></label>"
                "<label>Kata sandi <input name=\"kata_sandi\" type=\"password\" required></label>"
                "<button type=\"submit\">Masuk</button></form>"
                f"<p>Belum punya akun? <a href=\"/daftar?{urlencode({'lanjut': target})}\">Daftar</a></p>")
        return _with_csrf(_page(status, "Masuk", body), csrf)

    def signup(self, request: Request) -> Response:
        target = request.query.get("lanjut", "")
        form = dict(parse_qsl(request.body.decode(errors="replace"))) if request.method == "POST" else {}
        if form:
            target = form.get("lanjut", "")
        target = target if target.startswith("/authorize?") else ""
        if not self.config.bus_api_url:
            return _page(503, "Daftar", "<p>Verifikasi identitas sedang tidak tersedia, sehingga pendaftaran belum "
                                        "dapat dilakukan. Silakan coba lagi nanti.</p>")
        if request.method != "POST":
            return self._signup_page(request, target)
        if not _csrf_ok(request, form):
            return self._signup_page(request, target, "Formulir kedaluwarsa. Silakan coba lagi.", 403)
        nik, name, birth = form.get("nik", "").strip(), " ".join(form.get("nama", "").split()), form.get("tgl_lahir",
                                                                                                         "")
        password, again = form.get("kata_sandi", ""), form.get("ulangi_kata_sandi", "")
        if not (nik.isascii() and nik.isdigit() and len(nik) == 16):
            return self._signup_page(request, target, "NIK harus 16 angka.", 422)
        if not name or len(birth) != 10:
            return self._signup_page(request, target, "Isi nama lengkap dan tanggal lahir.", 422)
        if len(password) < 8 or password != again:
            return self._signup_page(request, target, "Kata sandi minimal 8 karakter dan kedua isian harus sama.",
                                     422)
        verdict = self.verify_identity(nik, name, birth)
        if verdict is None:
            return self._signup_page(request, target, "Verifikasi identitas sedang tidak tersedia. Silakan coba "
                                                      "lagi nanti.", 503)
        if not verdict:
            return self._signup_page(request, target, "Data tidak cocok dengan data kependudukan (Dukcapil). "
                                                      "Periksa NIK, nama lengkap dan tanggal lahir.", 422)
        # The birth date Dukcapil has just confirmed.
        if self.users.add(nik, name, hash_password(password), birthdate=birth) is None:
            return self._signup_page(request, target, "NIK ini sudah terdaftar. Silakan masuk.", 409)
        return _redirect("/masuk?" + urlencode({"lanjut": target, "terdaftar": "1"}) if target
                         else "/masuk?terdaftar=1")

    def _signup_page(self, request: Request, target: str, error: str = "", status: int = 200) -> Response:
        csrf = _csrf(request)
        body = (f"{_error(error)}<form method=\"post\" action=\"/daftar\">{_hidden(csrf)}"
                f"<input type=\"hidden\" name=\"lanjut\" value=\"{html.escape(target)}\">"
                "<label>NIK <input name=\"nik\" inputmode=\"numeric\" maxlength=\"16\" required></label>"
                "<label>Nama lengkap (sesuai KTP) <input name=\"nama\" required></label>"
                "<label>Tanggal lahir <input name=\"tgl_lahir\" type=\"date\" required></label>"
                "<label>Kata sandi <input name=\"kata_sandi\" type=\"password\" minlength=\"8\" required></label>"
                "<label>Ulangi kata sandi <input name=\"ulangi_kata_sandi\" type=\"password\" required></label>"
                "<button type=\"submit\">Daftar</button></form>")
        return _with_csrf(_page(status, "Daftar", body), csrf)

    def verify_identity(self, nik: str, name: str, birth_date: str) -> bool | None:
        """Ask the bus (POST /api/v1/identity/verify); None when it cannot answer, so sign-up fails closed."""
        body = json.dumps({"nik": nik, "name": name, "birth_date": birth_date}).encode()
        url = f"{(self.config.bus_api_url or '').rstrip('/')}/api/v1/identity/verify"
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {self.service_token()}",
            "X-Purpose": self.config.verify_purpose})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a configured http(s) URL
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return bool(answer.get("matches")) if isinstance(answer, dict) else None

    def _form_targets(self) -> str:
        origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.config.redirect_uris}
        return " ".join(sorted(origins))


# --- HTTP helpers --------------------------------------------------------------------------------------------------


def _cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("Cookie") or "")
    except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
        return {}
    return {k: m.value for k, m in jar.items()}


def _csrf(request: Request) -> str:
    return _cookies(request).get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def _csrf_ok(request: Request, form: dict[str, str] | None = None) -> bool:
    """Double submit: the form's token equals the cookie's (SameSite=Strict, so another site cannot send it)."""
    form = form if form is not None else dict(parse_qsl(request.body.decode(errors="replace")))
    cookie, sent = _cookies(request).get(CSRF_COOKIE, ""), form.get("csrf", "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def _hidden(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'


def _with_csrf(response: Response, csrf: str) -> Response:
    response.headers["Set-Cookie"] = f"{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict"
    return response


def _error(text: str) -> str:
    return f'<p class="galat" role="alert">{html.escape(text)}</p>' if text else ""


def _page(status: int, title: str, body: str) -> Response:
    text = (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{html.escape(title)} - SSO MPP '
            f'Digital</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
            f"<header>SSO MPP Digital</header><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
    return Response(status, text.encode(), "text/html; charset=utf-8")


def _redirect(location: str) -> Response:
    return Response(303, b"", "text/plain", {"Location": location})


def _secure(response: Response, form_targets: str) -> Response:
    # form-action also governs the redirect after a form post (sign-in back to the portal), so the portal's
    # origins are allowed there
    defaults = {"Content-Security-Policy": f"default-src 'none'; style-src 'self'; form-action 'self' "
                                          f"{form_targets}; frame-ancestors 'none'; base-uri 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
    for name, value in defaults.items():
        response.headers.setdefault(name, value)
    return response
