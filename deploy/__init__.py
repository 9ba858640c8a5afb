"""SPARK's deployment files as code: dashboards, Prometheus scrape config and alert rules."""
