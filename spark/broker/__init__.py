"""The broker side: the Celery app, job dispatch, and what the broker knows of lost messages."""
