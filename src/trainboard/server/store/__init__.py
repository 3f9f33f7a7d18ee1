"""Persistence: SQLAlchemy Core tables and the functions that read and write them, on SQLite (WAL) or
PostgreSQL; every write runs as a job of the one writer (``writer``)."""
