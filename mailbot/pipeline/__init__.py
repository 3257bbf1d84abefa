"""The units of work, each in one transaction: poll the inbox and handle each message
(poll, handling, organiser_mail), send the outbox (delivery, courier), and the scheduled
tasks (tasks, retention). Calls the pure stages; reaches the world only through the store
and the mail edges it is given."""
