"""aiosmtpd SMTP servers on loopback, including misbehaving ones."""
