"""Inbound mail, read: bytes to a frozen InboundMail (parse), which event it is about
(route), what it is and who sent it (classify), and the organiser's command text (commands).
Pure: no I/O, no clock."""
