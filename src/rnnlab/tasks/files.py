"""Opening the user's data files, with one clear :class:`~rnnlab.errors.RnnlabError` for each way
that fails: missing, a directory where a file was expected (or the reverse), a name the system
refuses (too long, a NUL character), no permission, or not UTF-8 text. Each message names the
file and what was expected, so the command line prints it as one ``error:`` line.
"""

from pathlib import Path

from rnnlab.errors import RnnlabError


def require_file(path: str | Path, what: str, missing: str | None = None) -> Path:
    """``path`` as a Path if it is an existing file; ``what`` names it ("CSV file"), and
    ``missing`` replaces the message for a file that does not exist."""
    return _require(Path(path), what, directory=False, missing=missing)


def require_directory(path: str | Path, what: str) -> Path:
    """``path`` as a Path if it is an existing directory; ``what`` names it."""
    return _require(Path(path), what, directory=True, missing=None)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The text of the file ``path``, or a RnnlabError saying why it cannot be read."""
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise RnnlabError(
            f"{path} is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None
    except OSError as error:
        raise RnnlabError(f"{path} cannot be read: {error.strerror or error}") from None


def _require(path: Path, what: str, directory: bool, missing: str | None) -> Path:
    try:
        if path.is_dir() if directory else path.is_file():
            return path
        exists = path.exists()
    except (OSError, ValueError) as error:  # a name too long; ValueError: a NUL character
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise RnnlabError(f"{what} {str(path)!r} cannot be opened: {reason}") from None
    if exists:
        expected = "a directory" if directory else "a file"
        raise RnnlabError(f"{what} {path} is not {expected}")
    if missing is None:
        missing = (
            f"{what} {path} does not exist (a relative path is read from the current "
            f"directory, {Path.cwd()})"
        )
    raise RnnlabError(missing)
