"""The outbox sender: claims due rows, paces them under Telegram's limits, records outcomes."""
