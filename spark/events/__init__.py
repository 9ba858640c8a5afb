"""Job events: envelope, subjects, publishers (NATS + outbox, or the database), consumer."""
