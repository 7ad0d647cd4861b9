"""OAuth client credentials: the tokens Link issued, their expiry and revocation."""

import hmac
import secrets
import threading
import time

from ..util import ApiError

SCOPE = "orders menus venues"


class OAuthError(ApiError):
    """The token endpoint speaks OAuth 2.0's error shape, not the API's."""

    def body(self) -> dict:
        return {"error": self.code, "error_description": self.message}


class TokenStore:
    def __init__(self, lock: threading.RLock, *, client_id: str, client_secret: str, token_ttl: float):
        self.lock = lock
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.revoked: set[str] = set()

    def issue(self, form: dict, basic: tuple[str, str] | None) -> tuple[int, dict]:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        client_id, secret = basic or (form.get("client_id") or "", form.get("client_secret") or "")
        good = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        good &= hmac.compare_digest(secret.encode(), self.client_secret.encode())
        if not good:
            raise OAuthError(401, "invalid_client", "Unknown client or wrong secret.")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        expires_in = max(1, round(self.token_ttl))
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": SCOPE}

    def check(self, authorization: str | None) -> None:
        def refuse(message: str):
            raise ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            refuse("A bearer token is required.")
        token = token.strip()
        with self.lock:
            if token in self.revoked:
                refuse("The token was revoked.")
            expiry = self.tokens.get(token)
            if expiry is None:
                refuse("Unknown token.")
            if expiry <= time.monotonic():
                refuse("The token expired.")

    def revoke_all(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.revoked.update(self.tokens)
            self.tokens.clear()
            return count

    def clear(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.revoked.clear()
