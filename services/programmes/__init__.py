"""Programme definition files: read, validated with a line for every error, loaded by key."""
