"""What an operator watches: Prometheus metrics (``metrics``) and the structured server log (``logs``).

Nothing here imports the API, the store or the stream packages: they call into it, never the reverse.
"""
