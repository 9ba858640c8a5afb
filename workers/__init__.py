"""Process entry points for build-farm workers and the event consumer."""
