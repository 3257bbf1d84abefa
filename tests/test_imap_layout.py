"""What IMAP replies mean, read without a server: where folders live, announcements, and
refusals that only say another client got there first."""

from __future__ import annotations

import imaplib

import pytest

from mailbot.mail.imap_layout import (
    FolderLayout,
    is_gone,
    layout_from_list,
    layout_from_namespace,
    take_announcements,
)

COURIER = FolderLayout(prefix="INBOX.", delimiter=".")


@pytest.mark.parametrize(
    ("layout", "name", "path"),
    [
        (FolderLayout(), "Processed", "Processed"),
        (COURIER, "Processed", "INBOX.Processed"),
        (COURIER, "INBOX", "INBOX"),
        (COURIER, "inbox", "inbox"),
        # The administrator already wrote the prefix: it is not doubled.
        (COURIER, "INBOX.Processed", "INBOX.Processed"),
        (COURIER, "Inbox.Bookings.Done", "Inbox.Bookings.Done"),
        (FolderLayout(prefix="", delimiter="/"), "Bookings/Processed", "Bookings/Processed"),
    ],
)
def test_a_configured_folder_is_found_among_the_personal_folders(
    layout: FolderLayout, name: str, path: str
) -> None:
    assert layout.path(name) == path


def test_layout_from_what_the_server_says() -> None:
    assert layout_from_namespace((("INBOX.", "."),)) == COURIER
    assert layout_from_namespace((("", "/"),)) == FolderLayout("", "/")
    assert layout_from_namespace(None) == FolderLayout()
    assert layout_from_list([((b"\\Noselect",), b"/", "")]) == FolderLayout("", "/")
    assert layout_from_list([((b"\\Noselect",), None, "")]) == FolderLayout()


@pytest.mark.parametrize(
    ("untagged", "announced"),
    [
        ({"EXISTS": [b"3"]}, True),
        ({"RECENT": [b"1"]}, True),
        ({"RECENT": [b"0"]}, False),
        ({"EXPUNGE": [b"1", b"1"], "FETCH": [b"1 (FLAGS ())"]}, False),
        ({}, False),
    ],
)
def test_announcements_kept_by_imaplib_are_taken_once(
    untagged: dict[str, list[bytes]], announced: bool
) -> None:
    kept = {**untagged, "PERMANENTFLAGS": [b"(\\Seen)"]}
    assert take_announcements(kept) is announced
    assert kept == {"PERMANENTFLAGS": [b"(\\Seen)"]}, "what it read does not pile up"
    assert take_announcements(kept) is False


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("move failed: [EXPUNGEISSUED] Some of the requested messages no longer exist", True),
        ("fetch failed: [NONEXISTENT] No such message", True),
        ("copy failed: No such message", True),
        ("store failed: Message has been expunged", True),
        ("create failed: [CANNOT] Invalid mailbox name: Begins with '~'", False),
        ("move failed: [OVERQUOTA] Quota exceeded", False),
        ("create failed: Permission denied", False),
    ],
)
def test_a_refusal_that_only_says_the_message_is_gone(text: str, gone: bool) -> None:
    assert is_gone(imaplib.IMAP4.error(text)) is gone
