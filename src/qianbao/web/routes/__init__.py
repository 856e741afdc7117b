"""One routes module per surface."""
