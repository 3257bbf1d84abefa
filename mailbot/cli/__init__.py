"""The `mailbot` command: parses arguments, builds what a command needs, and turns
mailbot's errors into the contract's exit codes. The demo lives here too."""
