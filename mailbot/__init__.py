"""mailbot: email-driven booking for small closed-audience events."""

__version__ = "0.1.0"
