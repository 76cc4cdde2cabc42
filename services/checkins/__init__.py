"""Check-ins: planning runs at each cadre's slot, the conversation, alerts, notes, absences."""
