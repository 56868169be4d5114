"""An English-French parallel corpus read from the gettext catalogues installed on the machine.

Every Debian package that speaks French installs a compiled message catalogue,
``/usr/share/locale/fr/LC_MESSAGES/<domain>.mo``: the program's English messages (``msgid``)
with their French translations (``msgstr``), written by the package's translators. Together
they are a small parallel corpus of short, technical sentences ("cannot open file %s" /
"impossible d'ouvrir le fichier %s"), free and already on disk. :func:`read_gettext_corpus`
reads them with the standard library's :class:`gettext.GNUTranslations` and cleans them;
:func:`write_corpus` writes the pairs as a TSV with a JSON manifest (each file's SHA-256, the
settings and the drop counts), so that another machine can tell whether it built the same
corpus. Reading the TSV back is not this module's job.

What is read, per ``.mo`` file (files sorted by name, messages sorted by ``msgid``):

- The header (``msgid ""``) is skipped.
- Plural messages keep their singular only: the English singular ``msgid`` with ``msgstr[0]``
  (form 0 is the singular in French). The English plural ``msgid`` is not in
  ``GNUTranslations``' catalogue, so the plural forms are left out.
- A message with a context (``msgctxt``, stored as ``"context\\x04msgid"``) loses its context;
  the same English text under two contexts is one pair (the second counts as a duplicate when
  its translation is the same).

Cleaning, the same on both sides:

1. Keyboard-accelerator markers are removed: ``_`` (GTK: ``"_File"``, ``"Save _As"``,
   ``"A_ctualiser"``) and ``&`` (Qt, KDE: ``"&Open"``). A marker is removed when all of:

   a. it is the only ``_`` (resp. ``&``) in the message: a label carries one mnemonic, while
      identifiers (``_NET_WM_NAME``, ``[local_port][,[rmt_host]``), shell ``&&`` and Qt's
      escaped ``&&`` carry several;
   b. it sits in a word of letters and is followed by a letter, and that word starts the
      message or follows whitespace or an opening bracket or quote: so ``.debug_str``,
      ``*_tz()``, ``--groups=G_LIST``, ``item&group=`` and ``pg_"`` stay;
   c. the word without the marker is an ordinary word: all lower case, capitalised, or (only
      for a marker at the start of the word, ``"_OK"``) all capitals: so ``O_DIRECT``,
      ``fr_FR``, ``AT&T`` stay;
   d. the word, marker included, is not a whole word of the other side, since translators copy
      identifiers unchanged (``posix_fallocate``, ``add_process``, ``a_b``); and a marker
      inside a word is removed only when the other side has a marker at the start of a word,
      as in ``"_Cancel"`` / ``"A_nnuler"``: otherwise the word is taken for an identifier, as
      psql's ``"column_name"`` / ``"nom_colonne"``. So a pair with both markers inside words
      (``"Op_acity"`` / ``"Op_acité"``, a dozen of gtk20's) keeps them;
   e. for ``&``: the word is not followed by ``;`` (an entity such as ``&amp;``).

   This is a heuristic; on Debian's French catalogues it removes GTK mnemonics and leaves the
   C, SQL and shell identifiers alone. A rare identifier that a translator renamed
   (``msgid_plural`` / ``msgstr_plural``) loses its underscore.
2. Every whitespace character (newline, tab, and the French no-break spaces U+00A0 and U+202F
   before ``:`` and inside « ») becomes a space; runs of spaces become one; the ends are
   stripped. The TSV therefore never holds a tab or a newline inside a field.
3. Placeholders stay as they are (``%s``, ``%d``, ``%1$s``, ``%(name)s``, ``{0}``): a later
   tokenizer sees them as tokens.

Then a message is dropped, counted under the first reason that applies, in this order
(:data:`DROP_REASONS`): ``header``; ``empty_translation`` (the French is empty after cleaning);
``untranslated`` (French and English are the same after cleaning: an untranslated or fuzzy
entry copied through, or a word that reads the same in both, like ``"Options"``: the two cannot
be told apart); ``no_letters`` (one side has no letter once its placeholders are taken out, as
``"%s: %s"``); ``too_short`` (fewer than ``min_words`` whitespace-separated English words);
``too_long`` (more than ``max_words`` words on either side); ``duplicate`` (an (English,
French) pair already kept, from this file or an earlier one). The same English with two
different translations is kept twice. A file that cannot be read or parsed is skipped and
counted as ``unreadable_file``, its package entry carrying the ``error``. So, over the
readable files, ``sum(entries) == len(pairs) + sum(dropped)`` less the unreadable files.
"""

import gettext
import hashlib
import io
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import ConfigError

DROP_REASONS = (
    "header",
    "empty_translation",
    "untranslated",
    "no_letters",
    "too_short",
    "too_long",
    "duplicate",
    "unreadable_file",
)

# What may come just before a word that starts with an accelerator marker.
_OPENERS = "([{<\"'‘“«"

# printf (%s, %-10.3lu, %1$s, %%), Python (%(name)s) and brace ({0}, {name}) placeholders.
PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-+ #0]*\d*(?:\.\d+)?[a-zA-Z]"
    r"|%(?:\d+\$)?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|L|q|j|z|Z|t)?[a-zA-Z%]"
    r"|\{[^{}\s]*\}"
)


@dataclass(frozen=True)
class GettextCorpus:
    """The cleaned (English, French) pairs of a locale directory, and how they were read."""

    pairs: list[tuple[str, str]]  # (english, french), in file then msgid order
    packages: list[dict]  # per .mo file: domain, sha256, entries, kept (and error if unreadable)
    dropped: dict[str, int]  # reason -> count, every reason of DROP_REASONS present
    locale_dir: str
    language: str
    min_words: int
    max_words: int

    def summary(self) -> str:
        """What reading found, in a line for a person."""
        dropped = ", ".join(f"{count} {reason}" for reason, count in self.dropped.items() if count)
        return (
            f"{len(self.pairs)} pairs from {len(self.packages)} {self.language} catalogues in "
            f"{self.locale_dir}; dropped: {dropped or 'none'}"
        )


def _find_marker(text: str, marker: str) -> tuple[int, str, bool] | None:
    """(index, word, whether it starts the word) of the accelerator ``marker`` in ``text`` when
    rules 1a, 1b, 1c and 1e of the module docstring hold; None otherwise."""
    if text.count(marker) != 1:
        return None
    i = text.index(marker)
    if i + 1 == len(text) or not text[i + 1].isalpha():
        return None
    start = i
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    end = i + 1
    while end < len(text) and text[end].isalpha():
        end += 1
    if start > 0 and not (text[start - 1].isspace() or text[start - 1] in _OPENERS):
        return None
    if end < len(text) and (text[end].isdigit() or text[end] == "_"):
        return None
    if marker == "&" and end < len(text) and text[end] == ";":
        return None
    word = text[start:end]
    plain = word.replace(marker, "")
    at_start = i == start
    if not (plain.islower() or plain.istitle() or (at_start and plain.isupper())):
        return None
    return i, word, at_start


def _strip_marker(text: str, other: str, marker: str) -> str:
    """``text`` without its accelerator ``marker``, if it has one by the module's rules 1a-e."""
    found = _find_marker(text, marker)
    if found is None:
        return text
    i, word, at_start = found
    if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", other):
        return text  # an identifier, copied by the translator
    if not at_start:
        other_found = _find_marker(other, marker)
        if other_found is None or not other_found[2]:
            return text
    return text[:i] + text[i + 1 :]


def strip_accelerators(text: str, other: str) -> str:
    """``text`` without its keyboard-accelerator marker; ``other`` is the pair's other side."""
    return _strip_marker(_strip_marker(text, other, "_"), other, "&")


def clean_pair(english: str, french: str) -> tuple[str, str]:
    """Both sides without accelerator markers, whitespace collapsed to single spaces."""
    cleaned_english = strip_accelerators(english, french)
    cleaned_french = strip_accelerators(french, english)
    return " ".join(cleaned_english.split()), " ".join(cleaned_french.split())


def has_letters(text: str) -> bool:
    """Whether ``text`` holds a letter outside its placeholders."""
    return any(c.isalpha() for c in PLACEHOLDER.sub(" ", text))


def _messages(catalog: dict) -> list[tuple[str, str, str]]:
    """(msgid without context, msgid with context, msgstr) of each message, sorted: plural
    messages once, with their singular msgid and msgstr[0]."""
    messages = []
    for key, msgstr in catalog.items():
        if isinstance(key, tuple):
            key, form = key
            if form != 0:
                continue
        msgid = key.partition("\x04")[2] if "\x04" in key else key
        messages.append((msgid, key, msgstr))
    return sorted(messages)


def _drop_reason(key: str, english: str, french: str, min_words: int, max_words: int) -> str | None:
    """Why the cleaned message is dropped (duplicates aside), or None to keep it."""
    if key == "":
        return "header"
    if not french:
        return "empty_translation"
    if english == french:
        return "untranslated"
    if not (has_letters(english) and has_letters(french)):
        return "no_letters"
    if len(english.split()) < min_words:
        return "too_short"
    if len(english.split()) > max_words or len(french.split()) > max_words:
        return "too_long"
    return None


def read_gettext_corpus(
    locale_dir: str | Path = "/usr/share/locale",
    language: str = "fr",
    *,
    min_words: int = 3,
    max_words: int = 50,
    exclude: tuple[str, ...] = (),
) -> GettextCorpus:
    """The cleaned pairs of every ``<locale_dir>/<language>/LC_MESSAGES/*.mo``; see the module
    docstring for what is kept and why. Catalogues whose domain starts with one of the
    ``exclude`` prefixes are skipped (``"iso_"``: ISO place and language names, often not
    English sentences); they are listed in ``packages`` with ``"excluded": True``.

    Raises:
        ConfigError (a ValueError): the directory is missing or holds no ``.mo`` file, or the
            word limits are not ``1 <= min_words <= max_words``.
    """
    if not (isinstance(min_words, int) and min_words >= 1):
        raise ConfigError(f"min_words must be an integer >= 1, got {min_words!r}")
    if not (isinstance(max_words, int) and max_words >= min_words):
        raise ConfigError(
            f"max_words must be an integer >= min_words={min_words}, got {max_words!r}"
        )
    messages_dir = Path(locale_dir) / language / "LC_MESSAGES"
    try:
        found = messages_dir.is_dir()
    except OSError as error:  # a name too long
        raise ConfigError(f"{messages_dir} cannot be opened: {error.strerror}") from None
    if not found:
        raise ConfigError(
            f"{messages_dir} does not exist: expected a gettext locale directory holding "
            f"{language}/LC_MESSAGES/*.mo (Debian's is /usr/share/locale)"
        )
    files = sorted(messages_dir.glob("*.mo"))
    if not files:
        raise ConfigError(f"{messages_dir} holds no .mo files: expected at least one catalogue")
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    packages: list[dict] = []
    dropped = dict.fromkeys(DROP_REASONS, 0)
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as error:  # a directory named *.mo, no permission
            dropped["unreadable_file"] += 1
            packages.append(
                {"domain": file.stem, "sha256": None, "entries": 0, "kept": 0,
                 "error": repr(error)}
            )  # fmt: skip
            continue
        package: dict = {"domain": file.stem, "sha256": hashlib.sha256(data).hexdigest()}
        if file.stem.startswith(tuple(exclude)):
            packages.append({**package, "entries": 0, "kept": 0, "excluded": True})
            continue
        try:
            catalog = gettext.GNUTranslations(io.BytesIO(data))._catalog
        except (OSError, ValueError, LookupError, struct.error) as error:
            # OSError: bad magic or size; ValueError: bad encoding or Plural-Forms; LookupError:
            # unknown charset; struct.error: truncated tables.
            dropped["unreadable_file"] += 1
            packages.append({**package, "entries": 0, "kept": 0, "error": repr(error)})
            continue
        messages = _messages(catalog)
        kept = 0
        for msgid, key, msgstr in messages:
            english, french = clean_pair(msgid, msgstr)
            reason = _drop_reason(key, english, french, min_words, max_words)
            if reason is None and (english, french) in seen:
                reason = "duplicate"
            if reason is not None:
                dropped[reason] += 1
                continue
            seen.add((english, french))
            pairs.append((english, french))
            kept += 1
        packages.append({**package, "entries": len(messages), "kept": kept})
    return GettextCorpus(
        pairs=pairs, packages=packages, dropped=dropped, locale_dir=str(locale_dir),
        language=language, min_words=min_words, max_words=max_words,
    )  # fmt: skip


def write_corpus(corpus: GettextCorpus, path: Path) -> None:
    """Write ``path``, a UTF-8 TSV of ``english<TAB>french`` lines, and beside it
    ``path.with_suffix(".json")``, the manifest: the settings, each file's SHA-256, the counts,
    the drop reasons and the TSV's own SHA-256."""
    path = Path(path)
    manifest_path = path.with_suffix(".json")
    if manifest_path == path:
        raise ConfigError(f"corpus path must not end in .json (the manifest's), got {path}")
    for english, french in corpus.pairs:
        for text in (english, french):
            if "\t" in text or "\n" in text or "\r" in text:
                raise ConfigError(f"pair field {text!r} holds a tab or newline: expected cleaned")
    tsv = "".join(f"{english}\t{french}\n" for english, french in corpus.pairs).encode("utf-8")
    path.write_bytes(tsv)
    manifest = {
        "locale_dir": corpus.locale_dir,
        "language": corpus.language,
        "min_words": corpus.min_words,
        "max_words": corpus.max_words,
        "pairs": len(corpus.pairs),
        "tsv": path.name,
        "tsv_sha256": hashlib.sha256(tsv).hexdigest(),
        "dropped": corpus.dropped,
        "packages": corpus.packages,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", "utf-8")
