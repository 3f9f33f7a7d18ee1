"""The write path: every change is made durable by the writer, then published to live viewers and handed to
the subscribers registered at app start."""
