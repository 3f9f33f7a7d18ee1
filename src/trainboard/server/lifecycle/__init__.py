"""The server as processes: ``serve`` (uvicorn), ``workers`` (N processes on one socket), ``leader`` (jobs that
run once across processes) and ``background`` (the periodic jobs of a running server)."""
