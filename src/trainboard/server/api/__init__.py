"""HTTP routers, one module per resource: they parse and authorise a request, call the write path
(``server.ingest``) or a store read, and answer."""
