"""Errors raised by embedders and probes."""


class ModelError(Exception):
    """A model could not be loaded, trained or trusted; `exit_code` follows the CLI convention."""

    exit_code = 1
