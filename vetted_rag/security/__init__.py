"""Security: input screening, PII redaction, API keys and roles, rate limits, audit log (all offline)."""
