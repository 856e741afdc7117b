"""Domain-free building blocks shared by every domain: money, ids, clock, errors, database."""
