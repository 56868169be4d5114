"""The self-contained report.html of the Elman (1990) replication: figures embedded."""

import html
from pathlib import Path

from rnnlab.report.html import image, page

ELMAN = {
    "temporal_xor": "A 1-2-1 network trained online on a 3,000-bit stream in which every third "
    "bit is the XOR of the two before it. After 600 passes its error on the predictable (XOR) "
    "bits was about 0.17 against 0.28-0.34 elsewhere: it had learned the rule, and applied it "
    "at every position (Fig. 3).",
    "letters": "Consonants b, d, g in random order, each followed by its vowels (ba, dii, guuu), "
    "as 6-bit phonetic features; a 6-20-6 network, 200 passes. Error was low on the vowels and "
    "high on the consonants (Fig. 4), yet the Consonant bit was predicted well everywhere (Fig. "
    "5a) while the High bit was not (Fig. 5b): the network knew when a consonant was coming, "
    "by counting vowels, but not which.",
    "words": "Sentences of a 15-word lexicon run together letter by letter (5-bit codes), a "
    "5-20-5 network. Error peaked at the first letter of each word and fell within it (Fig. "
    "6), so the error itself marks word boundaries, with some mis-segmentations.",
    "lexical_classes": "Two- and three-word sentences from 16 templates over 29 words (one-hot), "
    "10,000 sentences, a 31-150-31 network, six passes. Its outputs approached the likelihood "
    "of each next word (mean cosine 0.916), and the mean hidden vectors of the words clustered "
    "into nouns and verbs, animates and inanimates, humans and animals, food and breakables "
    "(Fig. 7), with no word type taught.",
    "zog": "With the weights frozen, the new word zog replaced man in 10,000 new sentences. "
    "Its mean hidden vector bore the same relationship to the other words as man's had: it "
    "fell among the human nouns (Fig. 8).",
}

TITLES = {
    "temporal_xor": "1. Temporal XOR", "letters": "2. Letter sequences",
    "words": "3. Discovering the notion \u201cword\u201d", "lexical_classes": "4. Lexical classes",
    "zog": "5. Types, tokens and zog",
}  # fmt: skip


def _ours(name: str, modes: dict) -> str:
    parts = []
    for mode, summary in modes.items():
        required = [c for c in summary["checks"] if c["required"]]
        passed = sum(c["passed"] for c in required)
        stretch = [c for c in summary["checks"] if not c["required"]]
        text = f"<b>{mode}</b>: {passed} of {len(required)} required checks passed"
        if stretch:
            text += f"; stretch goals met: {sum(c['passed'] for c in stretch)} of {len(stretch)}"
        parts.append(text + f" ({summary['seconds']:.1f} s)")
    return "; ".join(parts) + "."


def _table(modes: dict) -> str:
    rows = []
    for mode, summary in modes.items():
        for c in summary["checks"]:
            values = ", ".join(f"{v:.3g}" for v in c["values"])
            mark = "pass" if c["passed"] else ("fail" if c["required"] else "not met")
            rows.append(
                f"<tr class='{mark}'><td>{mode}</td><td>{html.escape(c['name'])}</td>"
                f"<td>{c['value']:.3g} ± {c['sd']:.2g}<br><small>{values}</small></td>"
                f"<td>{html.escape(c['paper'])}</td><td>{html.escape(c['criterion'])}</td>"
                f"<td>{c['pass_rate']:.0%}</td><td>{mark}</td></tr>"
            )
    return ("<table><tr><th>mode</th><th>check</th><th>ours (mean ± sd; per seed)</th>"
            "<th>paper</th><th>criterion</th><th>seeds passing</th><th></th></tr>"
            + "".join(rows) + "</table>")  # fmt: skip


def write(out: Path, results: dict, figures: dict[str, list[Path]], notes: dict[str, str]) -> Path:
    """Write ``out/report.html``; ``figures`` maps a simulation to its PNG files."""
    sections = []
    for name, modes in results["simulations"].items():
        sections.append(
            f"<h2>{TITLES[name]}</h2><p><b>Elman (1990).</b> {ELMAN[name]}</p>"
            f"<p><b>Here.</b> {_ours(name, modes)} {notes.get(name, '')}</p>"
            + "".join(image(path) for path in figures.get(name, []))
            + _table(modes)
        )
    quick = "Quick run: fewer passes." if results["quick"] else ""
    intro = f"""<p>Seeds {results["seeds"]}; modes: <b>faithful</b> (logistic units, context
0.5, an online update after every input with the gradient truncated after one step, squared
error, SGD at 0.1 (0.2 for the 31-150-31 network), weights U(&minus;0.5, 0.5)) and <b>modern</b>
(tanh units, cross-entropy, Adam, truncated BPTT over windows). {quick} A check passes over
seeds when at least 70 % of seeds pass it (all, for one seed).</p>"""
    title = "Elman (1990), \u201cFinding Structure in Time\u201d: replication"
    path = out / "report.html"
    path.write_text(page(title, intro, sections), encoding="utf-8")
    return path
