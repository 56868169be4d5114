"""The errors rnnlab raises for mistakes a user can fix (bad config, missing file, bad checkpoint).

The command line prints their message as one line and exits with status 2, without a traceback.
"""


class RnnlabError(Exception):
    """A problem the user can fix; the message says what was expected and what was got."""


class ConfigError(RnnlabError, ValueError):
    """A configuration that cannot be used: unknown key, wrong type, value out of range."""


class CheckpointError(RnnlabError):
    """A checkpoint that is missing, truncated, corrupted or tampered with."""
