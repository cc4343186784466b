"""Gateway internals: settings, errors, tenants, gRPC clients, request parsing."""
