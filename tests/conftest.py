"""Shared fixtures; the real-server fixtures live in tests/servers/.

Tests that talk to a real server (IMAP, SMTP, PostgreSQL, an OAuth2 endpoint) or run mailbot
as a process carry the `integration` marker: those that use a server fixture get it here,
those that start processes say so themselves. `pytest -m "not integration"` runs the rest,
the pure stages and the SQLite and Maildir edges, in seconds.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.servers.dovecot",
    "tests.servers.dovecot_oauth",
    "tests.servers.cyrus",
    "tests.servers.imap",
    "tests.servers.smtp",
    "tests.servers.oauth",
    "tests.servers.postgres",
]

# Fixtures that start or reach a real server.
SERVER_FIXTURES = frozenset(
    {
        "cyrus",
        "dovecot",
        "dovecot_no_idle",
        "dovecot_no_move_uidplus",
        "dovecot_prefixed",
        "dovecot_slash",
        "imap_server",
        "imap_user",
        "oauth_dovecot",
        "postgres_url",
        "smtp_server",
        "smtp_starttls_server",
        "smtp_tls_server",
        "smtp_xoauth2_server",
        "token_endpoint",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        if fixtures & SERVER_FIXTURES or on_postgres:
            item.add_marker(pytest.mark.integration)
