"""The dashboard server (``trainboard[server]``): the app factory, HTTP routers, the write path, storage, live
fan-out, log lines, authentication, launch providers and alerts."""
