"""The durable outbox: every message the bot sends on its own, planned once by unique key."""
