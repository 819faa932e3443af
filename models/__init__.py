"""Models: embedders that turn text into vectors, and probes that turn vectors into probabilities."""
