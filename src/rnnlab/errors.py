"""The errors rnnlab raises for mistakes a user can fix (bad config, missing file, bad checkpoint).

The command line prints their message as one line and exits with status 2, without a traceback.
"""


class RnnlabError(Exception):
    """A problem the user can fix; the message says what was expected and what was got."""


class ConfigError(RnnlabError, ValueError):
    """A configuration that cannot be used: unknown key, wrong type, value out of range."""


class CheckpointError(RnnlabError):
    """A checkpoint that is missing, truncated, corrupted or tampered with."""


class StorageError(RnnlabError):
    """A run's file could not be written: the disk is full, over quota or read-only.

    What was written before is intact (checkpoints are written atomically), so the run can
    continue with ``rnnlab resume`` once there is room.
    """
