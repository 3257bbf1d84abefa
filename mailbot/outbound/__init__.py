"""What mailbot writes: replies and notices from templates (render), their MIME form (mime),
calendar invites (invite), the organiser's digest text (digest) and the attendee list
(export). Pure: values in, bytes or text out."""
