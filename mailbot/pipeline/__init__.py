"""The units of work, each in one transaction: poll the inbox and handle each message
(poll, handling), carry out the organiser's commands (organiser_mail, organiser_commands),
send the outbox (delivery, and courier's second process), and the scheduled tasks (tasks,
retention). Each is given a frozen context (context), calls the pure stages, and reaches
the world only through the store and the mail edges it is given."""
