"""Keys, roles, limits, tenant isolation and the audit trail on a real server with auth on."""

from __future__ import annotations

import shutil

import httpx
import pytest
import redis

from tests.conftest import YES, serve
from vetted_rag import Configuration
from vetted_rag.providers import register_chat_model
from vetted_rag.providers.scripted import ScriptedChatModel, extractive_answer
from vetted_rag.security.audit import AuditLog
from vetted_rag.security.keys import KeyStore
from vetted_rag.security.ratelimit import RateLimiter, RedisRateLimiter
from vetted_rag.server.app import create_app

ASK = {"input": {"question": "How do I set a cost budget?"}}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def secured(sample_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("secured")
    import shutil
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    register_chat_model("scripted:secured", ScriptedChatModel(
        script={"text": extractive_answer, "GradeHallucination": YES, "GradeAnswer": YES}))
    config = Configuration(chat_model="scripted:secured", data_dir=str(data))
    keys = KeyStore(data / "keys.sqlite")
    made = {}
    for name, role, tenant, rpm in [("reader", "reader", "public", 100), ("editor", "editor", "public", 100),
                                    ("admin", "admin", "public", 100), ("slow", "reader", "public", 2),
                                    ("acme-editor", "editor", "acme", 100), ("acme-reader", "reader", "acme", 100),
                                    ("revoked", "reader", "public", 100)]:
        key, secret = keys.create(name, role, tenant=tenant, requests_per_minute=rpm)
        made[name] = (key, {"X-API-Key": secret})
    keys.revoke(made["revoked"][0].key_id)
    clock = Clock()
    with serve(create_app(config, limiter=RateLimiter(clock=clock))) as url:
        yield url, made, clock, data


def post(url, path, headers=None, **kw):
    return httpx.post(url + path, headers=headers, timeout=60, **kw)


def test_missing_wrong_and_revoked_keys_get_401(secured):
    url, keys, _, _ = secured
    assert post(url, "/agent/invoke", json=ASK).status_code == 401
    assert post(url, "/agent/invoke", {"X-API-Key": "vr_nope_nope"}, json=ASK).status_code == 401
    assert post(url, "/agent/invoke", keys["revoked"][1], json=ASK).status_code == 401
    bearer = {"Authorization": "Bearer " + keys["reader"][1]["X-API-Key"]}
    assert post(url, "/agent/invoke", bearer, json=ASK).status_code == 200


def test_playground_sign_in_sets_a_strict_http_only_cookie(secured):
    url, keys, _, _ = secured
    page = httpx.get(url + "/agent/playground/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert post(url, "/login", data={"key": "vr_wrong_key"}).status_code == 401
    signed = post(url, "/login", data={"key": keys["reader"][1]["X-API-Key"], "next": "//evil.example/"},
                  follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/agent/playground/"  # no open redirect
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "vr_" not in signed.headers["location"]
    jar = {"vetted_rag_key": signed.cookies["vetted_rag_key"]}
    assert httpx.get(url + "/agent/playground/", cookies=jar).status_code == 200
    assert httpx.post(url + "/agent/invoke", json=ASK, cookies=jar, timeout=60).status_code == 200
    assert httpx.post(url + "/admin/cache/clear", cookies=jar).status_code == 403  # the key's role still applies


def test_roles_are_enforced(secured):
    url, keys, _, _ = secured
    doc = {"documents": [{"source": "x", "text": "y"}]}
    assert post(url, "/ingest", keys["reader"][1], json=doc).status_code == 403
    assert httpx.get(url + "/admin/traces", headers=keys["editor"][1]).status_code == 403
    assert httpx.get(url + "/admin/traces", headers=keys["admin"][1]).status_code == 200


def test_rate_limit_then_recovery(secured):
    url, keys, clock, _ = secured
    headers = keys["slow"][1]
    assert [post(url, "/agent/invoke", headers, json=ASK).status_code for _ in range(2)] == [200, 200]
    limited = post(url, "/agent/invoke", headers, json=ASK)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    clock.now += 61
    assert post(url, "/agent/invoke", headers, json=ASK).status_code == 200


def test_oversized_body_is_413(secured):
    url, keys, _, _ = secured
    r = post(url, "/agent/invoke", keys["reader"][1], json={"input": {"question": "x" * 70_000}})
    assert r.status_code == 413


def test_tenants_cannot_reach_each_others_documents_or_cache(secured):
    url, keys, _, _ = secured
    doc = {"documents": [{"source": "acme/llamas.md", "title": "Llamas",
                          "text": "The acme llama herd grazes on the northern pasture every spring."}]}
    assert post(url, "/ingest", keys["acme-editor"][1], json=doc).json()["added"] == 1
    question = {"input": {"question": "Where does the acme llama herd graze?"}}
    acme = post(url, "/agent/invoke", keys["acme-reader"][1], json=question).json()["output"]
    assert acme["status"] == "answered" and acme["citations"][0]["source"] == "acme/llamas.md"
    again = post(url, "/agent/invoke", keys["acme-reader"][1], json=question).json()["output"]
    assert again["cache"]["hit"]
    public = post(url, "/agent/invoke", keys["reader"][1], json=question).json()["output"]
    assert not public["cache"].get("hit")
    assert all(c["source"] != "acme/llamas.md" for c in public["citations"])
    retrieved = [e for e in public["trace"] if e["node"] == "retrieve"]
    assert all("acme" not in p["id"] for e in retrieved for p in e["details"]["passages"])


def test_a_request_cannot_raise_its_policy(secured):
    url, keys, _, _ = secured
    body = {"input": {"question": "How do I set a cost budget?", "policy": {"max_iterations": 99}}}
    out = post(url, "/agent/invoke", keys["reader"][1], json=body).json()["output"]
    assert out["iterations"] <= 3


def test_admin_reads_traces_and_every_action_is_audited(secured):
    url, keys, _, data = secured
    run = post(url, "/agent/invoke", keys["reader"][1], json=ASK).json()["output"]
    trace = httpx.get(url + f"/admin/traces/{run['run_id']}", headers=keys["admin"][1])
    assert trace.status_code == 200 and trace.json()["trace"][0]["node"] == "prepare"
    assert httpx.get(url + "/admin/traces/unknown", headers=keys["admin"][1]).status_code == 404
    verdict = httpx.get(url + "/admin/audit/verify", headers=keys["admin"][1]).json()
    assert verdict["intact"] and verdict["records"] >= 3
    lines = (data / "audit.jsonl").read_text().splitlines()
    assert any(f'"run_id": "{run["run_id"]}"' in line and '"action": "ask"' in line for line in lines)
    assert any('"action": "read trace"' in line for line in lines)
    assert not any(s[1]["X-API-Key"] in (data / "audit.jsonl").read_text() for s in keys.values())


def test_audit_chain_detects_tampering(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    for i in range(5):
        audit.append(key_id="k1", role="reader", action="ask", target=f"question {i} from bob@example.com",
                     outcome="answered", run_id=f"r{i}")
    assert audit.verify() == (True, 5, "")
    assert "bob@example.com" not in audit.path.read_text()  # redacted
    lines = audit.path.read_text().splitlines()
    audit.path.write_text("\n".join(lines[:2] + [lines[2].replace("answered", "refused")] + lines[3:]) + "\n")
    intact, _, problem = audit.verify()
    assert not intact and "line 3 was altered" in problem
    audit.path.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    assert "line 3 does not follow" in audit.verify()[2]


def test_audit_chain_holds_when_two_writers_share_the_log(tmp_path):
    # Each writer remembers where its own last record ended; one that finds the file grown by
    # another (a replica, the CLI) must chain onto that record, not its own.
    first, second = AuditLog(tmp_path / "audit.jsonl"), AuditLog(tmp_path / "audit.jsonl")
    for writer in (first, first, second, first, second, second, first):
        writer.append(key_id="k1", role="reader", action="ask", outcome="answered")
    assert first.verify() == (True, 7, "")


def test_two_replicas_sharing_redis_allow_one_rate_together(redis_url, sample_dir, tmp_path):
    # Each replica alone would allow 3 requests a minute; sharing Redis they allow 3 together.
    redis.Redis.from_url(redis_url).flushall()
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    config = Configuration(data_dir=str(data), chat_model="heuristic", redis_url=redis_url, cache_enabled=False)
    key, secret = KeyStore(data / "keys.sqlite").create("shared", "reader", requests_per_minute=3)
    headers = {"X-API-Key": secret}
    with serve(create_app(config)) as first, serve(create_app(config)) as second:
        codes = [post(url, "/agent/invoke", headers, json=ASK).status_code for url in (first, second) * 3]
        tokens_in_redis = RedisRateLimiter(redis_url)
    assert codes == [200, 200, 200, 429, 429, 429]
    assert tokens_in_redis.acquire(key.key_id, 10, 10**9) is None  # the 3 answered runs' tokens were recorded
    assert redis.Redis.from_url(redis_url).zcard(f"vetted-rag:ratelimit:{key.key_id}:tokens") == 3


def test_a_key_carries_only_per_run_limits(tmp_path):
    keys = KeyStore(tmp_path / "keys.sqlite")
    key, _ = keys.create("capped", "reader", policy={"max_iterations": 1})
    assert key.policy == {"max_iterations": 1}
    # A stored non-limit would later fail every request of that key: refused when the key is made.
    with pytest.raises(ValueError, match="'loop_similarity' cannot be set per run"):
        keys.create("loose", "reader", policy={"loop_similarity": 0.5})
    with pytest.raises(ValueError, match="max_cost_usd must be at least 0"):
        keys.create("negative", "reader", policy={"max_cost_usd": -1})
