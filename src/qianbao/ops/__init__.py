"""Operations: the embedded database, migrations and the process that serves the app."""
