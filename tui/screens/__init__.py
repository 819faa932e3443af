"""The review app's screens: the main queue-and-detail screen, the decision form, prior work, and help."""
