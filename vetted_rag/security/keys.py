"""API keys with roles and tenants, stored hashed (SHA-256 of a 256-bit random secret) in SQLite."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from vetted_rag.graph.configuration import RunPolicy

ROLES = ("reader", "editor", "admin")  # each role may do what the roles before it may


def role_allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    tenant: str
    requests_per_minute: int
    tokens_per_minute: int
    policy: dict = field(default_factory=dict)  # the key's own run-policy ceiling


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, digest TEXT UNIQUE, name TEXT, "
                             "role TEXT, tenant TEXT, rpm INTEGER, tpm INTEGER, policy TEXT, created REAL, revoked REAL)")

    def create(self, name: str, role: str, tenant: str = "public", requests_per_minute: int = 60,
               tokens_per_minute: int = 200_000, policy: dict | None = None) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is shown once and only its digest is stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValueError("a key needs a name (who or what uses it)")
        if requests_per_minute < 1 or tokens_per_minute < 1:
            raise ValueError("requests_per_minute and tokens_per_minute must be at least 1")
        if not tenant.strip():
            raise ValueError("a key needs a tenant")
        RunPolicy().lowered_to(policy)  # a key's limits are per-run limits: refuse anything else now
        key_id = secrets.token_hex(6)
        secret = f"vr_{key_id}_{secrets.token_urlsafe(32)}"
        with self._lock, self._db:
            self._db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                             (key_id, _digest(secret), name, role, tenant, requests_per_minute, tokens_per_minute,
                              json.dumps(policy or {}), time.time()))
        return ApiKey(key_id, name, role, tenant, requests_per_minute, tokens_per_minute, policy or {}), secret

    def verify(self, secret: str | None) -> ApiKey | None:
        """The live key this secret belongs to, or None (unknown, malformed or revoked)."""
        if not secret or not secret.startswith("vr_"):
            return None
        with self._lock:
            row = self._db.execute("SELECT key_id, name, role, tenant, rpm, tpm, policy, digest, revoked FROM keys "
                                   "WHERE digest = ?", (_digest(secret),)).fetchone()
        if not row or row[8] is not None or not hmac.compare_digest(row[7], _digest(secret)):
            return None
        return ApiKey(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))

    def revoke(self, key_id: str) -> bool:
        with self._lock, self._db:
            return self._db.execute("UPDATE keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL",
                                    (time.time(), key_id)).rowcount == 1

    def list(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT key_id, name, role, tenant, rpm, tpm, created, revoked FROM keys "
                                    "ORDER BY created").fetchall()
        return [dict(zip(("key_id", "name", "role", "tenant", "requests_per_minute", "tokens_per_minute", "created",
                          "revoked"), r)) for r in rows]
