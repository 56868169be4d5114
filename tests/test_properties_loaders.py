"""Properties of the loaders of real files (rnnlab.tasks): whatever bytes a file holds (empty,
binary, another encoding, near-valid text), loading gives a result that keeps its contract, or a
RnnlabError whose message names the file; never another exception. The command line turns a
RnnlabError into one ``error:`` line; anything else would be a traceback.

Each property runs with the "ci" profile's few examples and, marked slow, with the "slow"
profile's many (tests/conftest.py).
"""

import csv
import io
import json
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.errors import RnnlabError
from rnnlab.tasks.char_lm import CharLM, CharLMConfig, load_text
from rnnlab.tasks.forecasting import ForecastConfig, Forecasting
from rnnlab.tasks.gettext_corpus import read_gettext_corpus
from rnnlab.tasks.names import Names, NamesConfig, load_names
from rnnlab.tasks.time_series import Scaler, load_series
from rnnlab.tasks.translation import Translation, TranslationConfig, load_pairs
from rnnlab.tasks.vocabulary import PAD, UNKNOWN, Vocabulary

SLOW = settings.get_profile("slow")
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]
MO_MAGIC = struct.pack("<I", 0x950412DE)


def encoded(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """``text`` in one of several encodings (those that can write it)."""

    def encode(text_and_encoding):
        text, encoding = text_and_encoding
        try:
            return text.encode(encoding)
        except UnicodeEncodeError:
            return text.encode("utf-8")

    return st.tuples(text, st.sampled_from(ENCODINGS)).map(encode)


def file_contents(lines: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Bytes of a file: random bytes, or near-valid ``lines`` in some encoding."""
    line_ending = st.sampled_from(["\n", "\r\n", "\r"])
    text = st.builds(lambda ls, end: end.join(ls), st.lists(lines, max_size=12), line_ending)
    return st.one_of(st.binary(max_size=120), encoded(text))


def outcome(load: Callable[[], object], path: Path | None) -> object | None:
    """The result of ``load()``, or None after checking that it raised a RnnlabError with a
    message, which names ``path`` unless that is None (a task's own limits)."""
    try:
        return load()
    except RnnlabError as error:
        message = str(error)
        assert message, "an empty error message"
        assert path is None or str(path) in message, message
        return None


words = st.text(st.characters(codec="utf-8", exclude_characters="\t\r\n"), max_size=12)


# -- a text file (char_lm) --------------------------------------------------------------------


def check_text(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.txt"
        path.write_bytes(content)
        text = outcome(lambda: load_text(path), path)
        if text is not None:
            # read in text mode: the line endings \r\n and \r become \n
            assert text == content.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        task = outcome(lambda: CharLM(CharLMConfig(path=str(path))), None)
        if task is not None:
            assert all(len(part) >= 2 for part in task.texts.values())
            assert {split.x.shape[0] for split in task.splits().values()} == {1}


@given(file_contents(words))
def test_text_file_loads_or_is_an_error_naming_it(content):
    check_text(content)


# -- sentence pairs (translation) -------------------------------------------------------------

pair_lines = st.one_of(
    st.builds(lambda s, t: f"{s}\t{t}", words, words),
    st.builds(lambda s, t, extra: f"{s}\t{t}\t{extra}", words, words, words),
    words,
)


def check_pairs(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pairs.tsv"
        path.write_bytes(content)
        pairs = outcome(lambda: load_pairs(path), path)
        if pairs is not None:
            assert pairs and all(source.strip() and target.strip() for source, target in pairs)
        config = TranslationConfig(path=str(path), min_freq=1, eval_sources=None)
        task = outcome(lambda: Translation(config), None)
        if task is not None:
            assert set(task.splits()) == {"train", "val", "test"}


@given(file_contents(pair_lines))
def test_sentence_pairs_load_or_are_an_error_naming_the_file(content):
    check_pairs(content)


# -- a directory of <Class>.txt (names) ---------------------------------------------------------

class_names = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6)
name_files = st.dictionaries(class_names, file_contents(words), max_size=3)


def check_names(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        for name, content in files.items():
            (path / f"{name}.txt").write_bytes(content)
        data = outcome(lambda: load_names(path), path)
        if data is not None:
            assert len(data.names) == len(data.labels)
            assert all(name and name == name.strip() for name in data.names)
        task = outcome(lambda: Names(NamesConfig(path=str(path))), None)
        if task is not None:
            sizes = [len(task.indices[split]) for split in ("train", "val", "test")]
            assert min(sizes) >= 1 and sum(sizes) == len(task.data.names)


@given(name_files)
def test_names_directory_loads_or_is_an_error_naming_it(files):
    check_names(files)


def test_a_directory_named_like_a_names_file_is_an_error(tmp_path):
    (tmp_path / "Czech.txt").mkdir()
    with pytest.raises(RnnlabError, match=r"Czech\.txt is not a file"):
        load_names(tmp_path)


# -- a CSV time series (forecast) -------------------------------------------------------------

cells = st.one_of(
    st.floats(width=32).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e308", "-1e308", "1e400", "1_0"]),
    words,
)


@st.composite
def csv_contents(draw) -> bytes:
    """A header and rows, quoted by the csv module or joined by bare commas; or any bytes."""
    header = draw(st.lists(words, min_size=1, max_size=3))
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)),
                         max_size=30))  # fmt: skip
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = "\n".join(",".join(row) for row in [header, *rows])
    return draw(st.one_of(encoded(st.just(text)), st.binary(max_size=120)))


def check_csv(content: bytes, time_column: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "series.csv"
        path.write_bytes(content)
        series = outcome(lambda: load_series(path=path, time_column=time_column), path)
        if series is None:
            return
        N, F = series.values.shape
        assert F == len(series.columns) >= 1 and series.times.shape == (N,)
        assert np.isfinite(series.values).all()
        try:
            scaler = Scaler.fit(series.values)
        except RnnlabError as error:
            assert "too large to standardise" in str(error)
            return
        assert np.isfinite(scaler.mean).all() and np.isfinite(scaler.std).all()
        config = ForecastConfig(path=str(path), time_column=time_column, window=2, horizon=1,
                                val_length=1, test_length=1)  # fmt: skip
        task = outcome(lambda: Forecasting(config), None)
        if task is not None:
            for split in task.splits().values():
                assert np.isfinite(split.x.numpy()).all()


@given(csv_contents(), st.sampled_from([None, "time", ""]))
def test_csv_series_loads_or_is_an_error_naming_the_file(content, time_column):
    check_csv(content, time_column)


def test_a_csv_field_over_the_csv_modules_limit_is_an_error(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text('a\n"' + "1" * 200_000 + '"\n', encoding="utf-8")
    with pytest.raises(RnnlabError, match="cannot be read as CSV"):
        load_series(path=path)


def test_values_too_large_to_standardise_are_an_error(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("a\n" + "1e308\n-1e308\n" * 60, encoding="utf-8")
    with pytest.raises(RnnlabError, match="too large to standardise"):
        Forecasting(ForecastConfig(path=str(path)))


# -- a saved vocabulary (vocab.json of a run) -------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | words,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)
saved_symbols = st.lists(words | json_values, max_size=6).map(
    lambda symbols: json.dumps({"symbols": [PAD, UNKNOWN, *symbols]})
)
vocabulary_contents = st.one_of(
    st.binary(max_size=80),
    saved_symbols.map(str.encode),
    json_values.map(json.dumps).map(str.encode),
)


def check_vocabulary(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "vocab.json"
        path.write_bytes(content)
        loaded = outcome(lambda: Vocabulary.load(path), path)
        if loaded is not None:
            vocabulary, extra = loaded
            assert vocabulary.symbols[:2] == [PAD, UNKNOWN] and isinstance(extra, dict)


@given(vocabulary_contents)
def test_vocabulary_file_loads_or_is_an_error_naming_it(content):
    check_vocabulary(content)


# -- gettext catalogues (the translation corpus) ----------------------------------------------


def check_gettext(catalogues: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        messages = Path(directory) / "fr" / "LC_MESSAGES"
        messages.mkdir(parents=True)
        for k, content in enumerate(catalogues):
            (messages / f"domain{k}.mo").write_bytes(content)
        corpus = outcome(lambda: read_gettext_corpus(directory), messages)
        if corpus is not None:
            assert len(corpus.packages) == len(catalogues)
            assert all("\t" not in side and "\n" not in side
                       for pair in corpus.pairs for side in pair)  # fmt: skip


# A catalogue that starts like one (the magic number, little-endian) gets past the first check.
mo_contents = st.one_of(st.binary(max_size=80), st.binary(max_size=120).map(MO_MAGIC.__add__))


@given(st.lists(mo_contents, max_size=3))
def test_gettext_catalogues_load_or_are_an_error_naming_the_directory(catalogues):
    check_gettext(catalogues)


def test_a_directory_named_like_a_catalogue_is_counted_unreadable(tmp_path):
    messages = tmp_path / "fr" / "LC_MESSAGES"
    (messages / "broken.mo").mkdir(parents=True)
    corpus = read_gettext_corpus(tmp_path)
    assert corpus.dropped["unreadable_file"] == 1 and corpus.pairs == []


# -- a path the system refuses ------------------------------------------------------------------

LOADERS = {
    "text": load_text,
    "pairs": load_pairs,
    "names": load_names,
    "csv": lambda path: load_series(path=path),
    "vocabulary": Vocabulary.load,
}


@pytest.mark.parametrize("name", ["a" * 300, "a\x00b", "no/such/file"])
@pytest.mark.parametrize("loader", LOADERS)
def test_a_path_that_cannot_be_opened_is_an_error(loader, name):
    with pytest.raises(RnnlabError, match=r"cannot be opened|does not exist|is missing"):
        LOADERS[loader](name)


@pytest.mark.parametrize("loader", [name for name in LOADERS if name != "names"])
def test_a_directory_where_a_file_belongs_is_an_error(loader, tmp_path):
    with pytest.raises(RnnlabError, match="is not a file"):
        LOADERS[loader](tmp_path)


# -- the slow variants --------------------------------------------------------------------------


@pytest.mark.slow
@settings(SLOW)
@given(file_contents(words))
def test_text_file_loads_or_is_an_error_naming_it_many(content):
    check_text(content)


@pytest.mark.slow
@settings(SLOW)
@given(file_contents(pair_lines))
def test_sentence_pairs_load_or_are_an_error_naming_the_file_many(content):
    check_pairs(content)


@pytest.mark.slow
@settings(SLOW)
@given(name_files)
def test_names_directory_loads_or_is_an_error_naming_it_many(files):
    check_names(files)


@pytest.mark.slow
@settings(SLOW)
@given(csv_contents(), st.sampled_from([None, "time", ""]))
def test_csv_series_loads_or_is_an_error_naming_the_file_many(content, time_column):
    check_csv(content, time_column)


@pytest.mark.slow
@settings(SLOW)
@given(vocabulary_contents)
def test_vocabulary_file_loads_or_is_an_error_naming_it_many(content):
    check_vocabulary(content)


@pytest.mark.slow
@settings(SLOW)
@given(st.lists(mo_contents, max_size=3))
def test_gettext_catalogues_load_or_are_an_error_naming_the_directory_many(catalogues):
    check_gettext(catalogues)
