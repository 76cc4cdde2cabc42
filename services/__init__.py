"""Business rules; nothing here knows about Telegram."""
