"""The booking rules: what a request, a cancellation, an organiser's command or the passing
of time does to the bookings (decide, booking, waitlist, organiser, reminders). Pure
functions of values in, decisions out; `now` is always an argument."""
