"""Script generators: the provider port and its adapters."""
