"""Link-Signature: ``t=<unix seconds>,v1=<hex>[,v1=<hex>...]``, HMAC-SHA256 over ``<t>.<raw body>``."""

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "Link-Signature"
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only ("²".isdigit() is true); Unix seconds fit in 12


class SignatureError(Exception):
    """The request is not provably from Link; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: list[str] | str, timestamp: int | None = None) -> str:
    """Header value for ``body``; one ``v1`` per secret (several during a rotation)."""
    if isinstance(secrets, str):
        secrets = [secrets]
    ts = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={ts}"] + [f"v1={compute(s, ts, body)}" for s in secrets])


def verify(header: str | None, body: bytes, secrets: list[str], tolerance: int = 300, now: float | None = None) -> None:
    """Raise SignatureError unless one ``v1`` matches one of ``secrets`` within ``tolerance`` seconds."""
    if not header:
        raise SignatureError("signature_missing", f"The {SIGNATURE_HEADER} header is missing.")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and TIMESTAMP.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("signature_malformed", f"{SIGNATURE_HEADER} must look like t=<unix>,v1=<hex>.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("signature_expired", f"Signature timestamp is more than {tolerance}s from now.")
    expected = [compute(secret, timestamp, body) for secret in secrets]
    # Compare every pair so timing does not reveal which secret or entry came close.
    matched = False
    for candidate in candidates:
        for exp in expected:
            matched |= hmac.compare_digest(candidate.encode(), exp.encode())
    if not matched:
        raise SignatureError("signature_invalid", "No v1 signature matches a configured webhook secret.")
