"""Dates and times as mail and certificates write them, the same whatever the process locale."""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["long_date", "time_range"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(value: datetime | date) -> str:
    """'Wednesday 10 March 2027', independent of the process locale."""
    return f"{_DAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def time_range(start: datetime, end: datetime) -> str:
    """'11:00 to 15:45'."""
    return f"{start:%H:%M} to {end:%H:%M}"
