"""Alerts: rule conditions (pure evaluators), failure diagnosis, the rule engine fed by the write path's
subscribers, the time-based watcher and the notification outbox delivered through Apprise by the leader."""
