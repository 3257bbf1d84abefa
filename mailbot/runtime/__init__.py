"""The long-running service and its assembly: the real edges built from the configuration
(wiring), the poll loop with IMAP IDLE and signals (service), the scheduled jobs (jobs)."""
