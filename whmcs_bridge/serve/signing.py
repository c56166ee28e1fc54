"""Signed requests between the WHMCS hook file and ``serve``.

The hook file signs ``"<unix timestamp>.<raw body>"`` with HMAC-SHA256 and the shared secret,
and sends ``X-Bridge-Timestamp: <timestamp>`` and ``X-Bridge-Signature: sha256=<hex>``. A request
is accepted only with a valid signature and a timestamp within five minutes of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

TOLERANCE_SECONDS = 300
# Plain ASCII only: int() would take Unicode digits, "_" and 4,000 digits (which then overflow
# a float), and compare_digest raises TypeError on a non-ASCII str; both must be a 401, not a 500.
_TIMESTAMP = re.compile(r"[0-9]{1,11}", re.ASCII)
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Bridge-Signature`` value for a body sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> str | None:
    """``None`` when the request is authentic and fresh, else the reason it is refused."""
    if not secret:
        return "no shared secret configured"
    if not timestamp or not signature:
        return "missing X-Bridge-Timestamp or X-Bridge-Signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Bridge-Timestamp is not a unix time (at most 11 ASCII digits)"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE_SECONDS:
        return "stale timestamp (more than 5 minutes off)"
    given = signature.strip()
    if not _SIGNATURE.fullmatch(given):
        return "malformed X-Bridge-Signature (expected sha256=<64 hex digits>)"
    if not hmac.compare_digest(sign(secret, timestamp, body), given.lower()):
        return "bad signature"
    return None
