"""Live fan-out: the broker (in process, or Redis between server processes), what is published for each
change, Server-Sent Events and the catch-up of a reconnecting client."""
