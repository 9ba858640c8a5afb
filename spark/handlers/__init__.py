"""Job handlers, one module per kind or family; the kind registry names each by import path."""
