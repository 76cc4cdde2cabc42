"""E-mail for organizers at home: the digest and exports, through the outbox."""
