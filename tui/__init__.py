"""The Textual review app; it reaches the rest of the tool only through the `triage` API."""
