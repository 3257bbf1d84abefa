"""What mailbot writes: notices as finished mail (replies), filled from templates (render),
in MIME form (mime, mime_headers), with calendar invites (invite); the organiser's digest
text (digest) and the attendee list (export). Pure but for reading the templates: values
in, bytes or text out."""
