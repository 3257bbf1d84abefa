"""The database: tables and migrations, the one transaction a message is handled in
(snapshot, apply), the outbox's queue, the reads the digest and the commands need, and the
scheduler's job table. The only package that speaks SQL or imports what speaks it: what it
hands out are mailbot's frozen values, and what goes wrong, mailbot's errors."""
