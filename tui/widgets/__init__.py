"""The review app's widgets: queue table, score bars, evidence, draft text with passages, status line."""
