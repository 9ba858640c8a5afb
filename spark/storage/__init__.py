"""Where what jobs produce is kept: artifacts and logs (the storage port)."""
