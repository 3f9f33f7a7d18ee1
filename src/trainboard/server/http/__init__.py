"""HTTP plumbing: the ASGI middleware stack (forwarded headers, Host and Origin checks, limits, strict JSON,
security headers), uvicorn's protocol with deadlines and the app's flattened route table."""
