"""Shared fixtures; the real-server fixtures live in tests/servers/."""

pytest_plugins = [
    "tests.servers.dovecot",
    "tests.servers.dovecot_oauth",
    "tests.servers.cyrus",
    "tests.servers.imap",
    "tests.servers.smtp",
    "tests.servers.oauth",
    "tests.servers.postgres",
]
