"""HTML pages and the HTTP edge: routes call services, never the database."""
