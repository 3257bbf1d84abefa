"""The database: tables and migrations, the one transaction a message is handled in
(snapshot, apply), the outbox's queue, and the reads the digest and the commands need.
The only package that speaks SQL."""
