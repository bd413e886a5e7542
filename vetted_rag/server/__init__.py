"""The HTTP server: `app` (routes, LangServe under /agent), `gatekeeper` (auth, limits, request
shape), `schemas` (request bodies)."""
