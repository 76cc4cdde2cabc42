"""Broadcasts: notices from organizers to an audience, paced below check-ins, acknowledged."""
