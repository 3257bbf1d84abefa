"""`python -m mailbot` is the `mailbot` command."""

from mailbot.cli.app import main

main()
