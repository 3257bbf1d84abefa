"""The mail edges: where inbound messages come from (IMAP, Maildir) and where outgoing mail
goes (SMTP, Maildir), with OAuth2 sign-in. The only package that opens network connections."""
