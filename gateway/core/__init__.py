"""Gateway infrastructure: settings, errors, tenants and API keys, rate limits, gRPC clients,
middleware, request context and request reading. The calls to the services are in
``gateway.orchestration``."""
