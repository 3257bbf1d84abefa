"""A private Dovecot IMAP server per test session."""
