"""Realtime (ARCHITECTURE §6): channel names, the event bus, the `/ws` hub, stored notifications and the
after-commit outbox. It knows no domain: domains call it, never the other way round."""
