"""Game-engine integrations."""
