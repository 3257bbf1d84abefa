"""Real servers on loopback for the integration tests: a private Dovecot and aiosmtpd."""
