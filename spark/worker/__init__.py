"""The Celery side: app, tasks (thin), signals."""
