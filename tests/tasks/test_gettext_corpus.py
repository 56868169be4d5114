"""The gettext corpus: tiny .mo files written here, byte by byte, then the machine's own."""

import json
import struct
from pathlib import Path

import pytest

from rnnlab.tasks.gettext_corpus import (
    DROP_REASONS,
    clean_pair,
    read_gettext_corpus,
    strip_accelerators,
    write_corpus,
)

HEADER = (
    "Project-Id-Version: demo 1.0\n"
    "Language: fr\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Plural-Forms: nplurals=2; plural=(n > 1);\n"
)


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo file of ``messages`` (msgid -> msgstr; plural ids and strings joined by NUL,
    contexts as ``"context\\x04msgid"``): magic 0x950412de, little-endian, revision 0, the
    originals' then the translations' (length, offset) tables, no hash table, then the strings,
    each NUL-terminated, originals sorted as msgfmt sorts them."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items())
    n = len(items)
    originals_offset = 7 * 4
    translations_offset = originals_offset + 8 * n
    offset = translations_offset + 8 * n
    tables = [b"", b""]
    strings = b""
    for column in (0, 1):
        for item in items:
            text = item[column]
            tables[column] += struct.pack("<2I", len(text), offset + len(strings))
            strings += text + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, originals_offset, translations_offset, 0, offset)
    path.write_bytes(head + tables[0] + tables[1] + strings)


def messages_dir(root: Path, language: str = "fr") -> Path:
    path = root / language / "LC_MESSAGES"
    path.mkdir(parents=True)
    return path


LONG_ENGLISH = " ".join(["word"] * 12)
LONG_FRENCH = " ".join(["mot"] * 12)

APP = {
    "": HEADER,
    "_Open the file": "_Ouvrir le fichier",
    "%d file was copied\0%d files were copied": "%d fichier a été copié\0%d fichiers copiés",
    "menu\x04Save the document": "Enregistrer le document",
    "&Quit the program now": "&Quitter le programme maintenant",
    "Set a_b to %s now": "Définir a_b à %s maintenant",
    "_Cancel this job": "A_nnuler cette tâche",
    "where column_name is %(name)s": "où nom_colonne est %(name)s",
    "Use the AT&T syntax": "Utiliser la syntaxe AT&T",
    "Run a && b here": "Lancer a && b ici",
    "Line one\n\tline two {0} here\n": "Ligne un\n\tligne deux {0} ici\n",
    "Hello brave world": "Hello brave world",  # untranslated
    "Cancel": "Annuler",  # too short
    LONG_ENGLISH: LONG_FRENCH,  # too long with max_words=10
    "Nothing here at all": "",  # empty translation
    "%s: %s (%d)": "%s\u00a0: %s (%d)",  # no letters
    "a\x04Open the file now": "Ouvrir le fichier maintenant",
    "b\x04Open the file now": "Ouvrir le fichier maintenant",  # duplicate in the same file
}
OTHER = {
    "": HEADER,
    "Open the file": "Ouvrir le fichier",  # app's "_Open the file" pair once cleaned: duplicate
    "Show the file": "Montrer le fichier",
    "Show the document": "Afficher le document",
    "ShowShow the document": "Montrer le document",  # same English, other French: kept
}

EXPECTED_APP_PAIRS = [  # sorted by msgid without context, as they are in app.mo
    ("%d file was copied", "%d fichier a été copié"),
    ("Quit the program now", "Quitter le programme maintenant"),
    ("Line one line two {0} here", "Ligne un ligne deux {0} ici"),
    ("Open the file now", "Ouvrir le fichier maintenant"),
    ("Run a && b here", "Lancer a && b ici"),
    ("Save the document", "Enregistrer le document"),
    ("Set a_b to %s now", "Définir a_b à %s maintenant"),
    ("Use the AT&T syntax", "Utiliser la syntaxe AT&T"),
    ("Cancel this job", "Annuler cette tâche"),
    ("Open the file", "Ouvrir le fichier"),
    ("where column_name is %(name)s", "où nom_colonne est %(name)s"),
]
EXPECTED_OTHER_PAIRS = [  # a tie in msgid is broken by the key: "Show\x04..." < "Show the..."
    ("Show the document", "Montrer le document"),
    ("Show the document", "Afficher le document"),
    ("Show the file", "Montrer le fichier"),
]


@pytest.fixture
def locale(tmp_path: Path) -> Path:
    directory = messages_dir(tmp_path)
    write_mo(directory / "app.mo", APP)
    write_mo(directory / "other.mo", OTHER)
    return tmp_path


def test_reads_exactly_the_expected_pairs_and_counts_every_drop(locale: Path):
    corpus = read_gettext_corpus(locale, "fr", min_words=3, max_words=10)
    assert corpus.pairs == EXPECTED_APP_PAIRS + EXPECTED_OTHER_PAIRS
    assert corpus.dropped == {
        "header": 2, "empty_translation": 1, "untranslated": 1, "no_letters": 1, "too_short": 1,
        "too_long": 1, "duplicate": 2, "unreadable_file": 0,
    }  # fmt: skip
    assert list(corpus.dropped) == list(DROP_REASONS)
    assert [(p["domain"], p["entries"], p["kept"]) for p in corpus.packages] == [
        ("app", 18, 11),
        ("other", 5, 3),
    ]
    entries = sum(p["entries"] for p in corpus.packages)
    assert entries == len(corpus.pairs) + sum(corpus.dropped.values())
    assert (corpus.locale_dir, corpus.language) == (str(locale), "fr")


def test_excluded_catalogues_are_listed_but_not_read(locale: Path):
    corpus = read_gettext_corpus(locale, "fr", min_words=3, max_words=10, exclude=("oth",))
    assert corpus.pairs == EXPECTED_APP_PAIRS
    assert [(p["domain"], p.get("excluded", False)) for p in corpus.packages] == [
        ("app", False),
        ("other", True),
    ]


def test_word_limits_decide_too_short_and_too_long(locale: Path):
    corpus = read_gettext_corpus(locale, "fr", min_words=1, max_words=50)
    assert ("Cancel", "Annuler") in corpus.pairs
    assert (LONG_ENGLISH, LONG_FRENCH) in corpus.pairs
    assert corpus.dropped["too_short"] == corpus.dropped["too_long"] == 0


@pytest.mark.parametrize(
    "text, other, expected",
    [
        ("_File", "_Fichier", "File"),
        ("Save _As", "Enregistrer _sous", "Save As"),
        ("_OK", "_Valider", "OK"),
        ("&Open", "&Ouvrir", "Open"),
        ("A_nnuler", "_Cancel", "Annuler"),  # inside a word, the other side's is at the start
        ("Op_acity", "Op_acité", "Op_acity"),  # both inside words: taken for an identifier
        ("a_b is set", "a_b est défini", "a_b is set"),  # copied identifier
        ("posix_fallocate failed", "échec de posix_fallocate", "posix_fallocate failed"),
        ("_NET_WM_NAME unset", "_NET_WM_NAME non défini", "_NET_WM_NAME unset"),  # several
        ("O_DIRECT off", "O_DIRECT désactivé", "O_DIRECT off"),
        ("see .debug_str", "voir .debug_str", "see .debug_str"),
        ("use _%d", "utiliser _%d", "use _%d"),  # not before a letter
        ("a && b", "a && b", "a && b"),
        ("AT&T syntax", "syntaxe AT&T", "AT&T syntax"),
        ("escape as &amp;", "échapper en &amp;", "escape as &amp;"),
        ("x?a=1&b=2", "x?a=1&b=2", "x?a=1&b=2"),
    ],
)
def test_accelerator_markers_are_removed_only_where_they_are_markers(text, other, expected):
    assert strip_accelerators(text, other) == expected


def test_cleaning_collapses_whitespace_and_keeps_placeholders():
    english, french = clean_pair(" %1$s\tof %(total)d\n{0} ", "%1$s\u00a0sur\u202f%(total)d\n{0}")
    assert english == "%1$s of %(total)d {0}"
    assert french == "%1$s sur %(total)d {0}"


def test_a_corrupt_file_is_recorded_and_skipped(locale: Path):
    directory = locale / "fr" / "LC_MESSAGES"
    (directory / "broken.mo").write_bytes(b"this is not a catalogue")
    (directory / "truncated.mo").write_bytes((directory / "app.mo").read_bytes()[:40])
    corpus = read_gettext_corpus(locale, "fr", max_words=10)
    assert corpus.dropped["unreadable_file"] == 2
    assert [p["domain"] for p in corpus.packages] == ["app", "broken", "other", "truncated"]
    broken = corpus.packages[1]
    assert (broken["entries"], broken["kept"]) == (0, 0)
    assert "magic" in broken["error"].lower()
    assert "error" in corpus.packages[3]
    assert corpus.pairs == EXPECTED_APP_PAIRS + EXPECTED_OTHER_PAIRS


def test_a_missing_or_empty_directory_is_an_error_naming_the_path(tmp_path: Path):
    with pytest.raises(ValueError, match=str(tmp_path / "de" / "LC_MESSAGES")):
        read_gettext_corpus(tmp_path, "de")
    empty = messages_dir(tmp_path, "fr")
    with pytest.raises(ValueError, match=f"{empty} holds no .mo files"):
        read_gettext_corpus(tmp_path, "fr")


@pytest.mark.parametrize("min_words, max_words", [(0, 10), (5, 4)])
def test_word_limits_are_validated(locale: Path, min_words: int, max_words: int):
    with pytest.raises(ValueError, match="got"):
        read_gettext_corpus(locale, min_words=min_words, max_words=max_words)


def test_written_corpus_is_the_pairs_and_a_manifest_that_reproduces_it(locale: Path, tmp_path):
    corpus = read_gettext_corpus(locale, max_words=10)
    write_corpus(corpus, tmp_path / "corpus.tsv")
    lines = (tmp_path / "corpus.tsv").read_text("utf-8").splitlines()
    assert [tuple(line.split("\t")) for line in lines] == corpus.pairs
    manifest = json.loads((tmp_path / "corpus.json").read_text("utf-8"))
    assert manifest["pairs"] == len(corpus.pairs)
    assert (manifest["min_words"], manifest["max_words"]) == (3, 10)
    assert manifest["dropped"] == corpus.dropped
    assert manifest["packages"] == corpus.packages
    # The same files give the same bytes.
    write_corpus(read_gettext_corpus(locale, max_words=10), tmp_path / "again.tsv")
    assert (tmp_path / "again.tsv").read_bytes() == (tmp_path / "corpus.tsv").read_bytes()
    again = json.loads((tmp_path / "again.json").read_text("utf-8"))
    assert again["tsv_sha256"] == manifest["tsv_sha256"]


def test_machine_catalogues_give_a_corpus(tmp_path: Path):
    directory = Path("/usr/share/locale/fr/LC_MESSAGES")
    if not any(directory.glob("*.mo")):
        pytest.skip(f"{directory} holds no French .mo files on this machine")
    corpus = read_gettext_corpus()
    assert len(corpus.pairs) > 1000
    assert len(set(corpus.pairs)) == len(corpus.pairs)
    assert all("\t" not in text and "\n" not in text for pair in corpus.pairs for text in pair)
    write_corpus(corpus, tmp_path / "fr.tsv")
    manifest = json.loads((tmp_path / "fr.json").read_text("utf-8"))
    files = [package["domain"] + ".mo" for package in manifest["packages"]]
    assert files and files == sorted(files)  # by file name: "dpkg-dev.mo" < "dpkg.mo"
    assert all(len(package["sha256"]) == 64 for package in manifest["packages"])
