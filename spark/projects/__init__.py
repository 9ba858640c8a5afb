"""Project services: versioned project files and webhooks."""
