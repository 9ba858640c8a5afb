"""Job events: envelope, subjects, the NATS publisher with its Postgres outbox, the consumer."""
