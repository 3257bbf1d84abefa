"""Shared fixtures; the real-server fixtures live in tests/servers/."""

pytest_plugins = ["tests.servers.dovecot", "tests.servers.smtp", "tests.servers.postgres"]
