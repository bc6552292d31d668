"""Secrets: generated with high entropy, stored only as hashes, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

API_KEY_PREFIX = "cg_"
MODERATOR_TOKEN_PREFIX = "cgm_"
# The WordPress Akismet plugin keeps only the hex characters of a typed key and calls any key
# that is not 12 characters long invalid, so a site's Akismet key has exactly that shape.
AKISMET_KEY = re.compile(r"[0-9a-f]{12}")


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_akismet_key() -> str:
    return secrets.token_hex(6)


def is_akismet_key(value: str) -> bool:
    return AKISMET_KEY.fullmatch(value.lower()) is not None


def hash_akismet_key(key: str, secret_key: str) -> str:
    """A keyed hash: 12 hex characters are only 48 bits, so a plain hash of one is found by
    trying them all; keyed with the installation's secret key, a copied database alone gives
    nothing to try. Still deterministic, so it is indexed like the other key hashes."""
    pepper = hmac.new(secret_key.encode("utf-8"), b"commentgate akismet keys", "sha256").digest()
    return hmac.new(pepper, key.lower().encode("utf-8"), "sha256").hexdigest()


def new_moderator_token() -> str:
    return MODERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def hash_token(token: str) -> str:
    """SHA-256 is enough for 256-bit random tokens (no dictionary to attack), and indexable."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_token(token), stored_hash)


def identifier_key(secret_key: str) -> bytes:
    """The key of the stored e-mail and IP hashes, derived from the installation's secret key:
    every API replica already shares that one, so they all hash an author alike."""
    return hmac.new(
        secret_key.encode("utf-8"), b"commentgate author identifiers", "sha256"
    ).digest()


def hash_identifier(value: str, key: bytes) -> str:
    """Keyed hash of an e-mail or IP, so reputation works without keeping the raw value.

    A plain SHA-256 gives every IPv4 address back to whoever tries all four billion; without
    the key there is nothing to try. The HMAC is over that plain SHA-256, so hashes stored
    before they were keyed can be converted without the raw values (migration 0007)."""
    plain = hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()
    return hmac.new(key, plain.encode("ascii"), "sha256").hexdigest()
