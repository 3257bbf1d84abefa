"""The mail edges: where inbound messages come from and where outgoing mail goes."""
