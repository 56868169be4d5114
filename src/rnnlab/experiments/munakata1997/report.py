"""The report.html of the Munakata et al. (1997) replication: the paper's claims beside ours."""

import html as escape
from pathlib import Path

from rnnlab.report import html

CLAIMS = [  # the paper's claim, and which of our measures answers it
    ("Sensitivity to hidden objects shows in looking (habituation) at 3.5 months, retrieval "
     "only at about 8 months (abstract).",
     "looking criterion epoch against the occluded-reach criterion epoch, per network"),
    ("7-month-olds retrieve visible toys more than occluded toys under the same means-ends "
     "demands; toy-guided retrieval is higher behind a transparent screen (TR 1994).",
     "reach accuracy and toy-guided reaching (toy minus no-toy) behind transparent and opaque "
     "screens"),
    ("The knowledge is graded: a network gradually learns to represent occluded objects, and "
     "the gradedness affects looking and reaching differently (abstracts).",
     "the developmental curves; the hidden states of the toy behind the screen over training"),
    ("The reaching layer responds only within reach, the gaze layer at every input: the "
     "single difference between them is the frequency of their responses (CECN, SECONDARY).",
     "the every-step ablation: the reach head trained as often as the prediction head"),
]  # fmt: skip


def write(out: Path, results: dict, pictures: list[Path]) -> Path:
    claims = "".join(f"<tr><td>{escape.escape(a)}</td><td>{escape.escape(b)}</td></tr>"
                     for a, b in CLAIMS)  # fmt: skip
    claims = f"<h2>The paper's claims, and what we measure</h2><table>{claims}</table>"
    rows = []
    for name, c in results["conditions"].items():
        epochs = c["criterion_epochs"]
        for seed, lag in enumerate(c["lags"]):
            cells = [epochs[k][seed] for k in ("look", "reach_visible", "reach_occluded")]
            cells = ["never" if v is None else v for v in cells]
            final = [c["final"][k][seed] for k in ("looking", "reach_occluded", "reach_visible")]
            rows.append(f"<tr><td>{name}</td><td>{seed}</td>"
                        + "".join(f"<td>{v}</td>" for v in cells)
                        + f"<td>{lag}</td>" + "".join(f"<td>{v:.2f}</td>" for v in final)
                        + "</tr>")  # fmt: skip
    seeds = ("<h2>Criterion epochs per network</h2><table><tr><th>condition</th><th>seed</th>"
             "<th>looking</th><th>visible reach</th><th>occluded reach</th><th>lag</th>"
             "<th>final looking</th><th>final occluded reach</th><th>final visible reach</th>"
             "</tr>" + "".join(rows) + "</table>")  # fmt: skip
    sources = "".join(
        f"<h3>{escape.escape(head)}</h3><ul>"
        + "".join(f"<li>{escape.escape(item)}</li>" for item in items)
        + "</ul>"
        for head, items in results["sources"].items()
    )
    intro = (
        f"<p>{results['seeds']} networks per condition, {results['epochs']} epochs "
        f"{'(quick) ' if results['quick'] else ''}in {results['seconds']:.0f} s. Conditions: "
        "<b>reach_step</b>, the reach head trained at one step per event (the last step the "
        "toy is covered), the prediction head at every step; <b>every_step</b>, the ablation, "
        "the reach head trained at every step. Looking: the surprise at an impossible event "
        "(the toy fails to reappear), its prediction error minus that of the no-toy event with "
        "the same outcome, in units of one wholly expected toy. Criterion epochs: looking "
        f"{results['criteria']['looking']}; reaching: {results['criteria']['reach']}.</p>"
    )
    sections = [html.checks_table(results["checks"]), claims,
                "".join(html.image(p) for p in pictures), seeds,
                "<h2>Which details come from where</h2>" + sources]  # fmt: skip
    path = out / "report.html"
    path.write_text(html.page("Munakata et al. (1997): looking before reaching", intro,
                              sections), encoding="utf-8")  # fmt: skip
    return path
