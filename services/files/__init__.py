"""Files cadres send: checked by name and content, archived on disk with their checksum."""
