"""Persistence: engine, sessions, typed models and query functions that never commit."""
