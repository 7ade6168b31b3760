"""Session history: the SQLite store every session is recorded in, and the trends read back from it."""
