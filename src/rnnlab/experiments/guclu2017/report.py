"""report.html of the replication: the paper's claims beside ours, the tables and figures."""

import html as escape
from pathlib import Path

from rnnlab.report import html

CLAIMS = [
    (
        "Response model",
        "features -> fMRI by 'a linear convolution' (R-C, R-CTD, R-F) or two "
        "recurrent layers and a linear readout (L-/G-10/50/100)",
        "the same model families, fitted to simulated voxels; also E-50 (Elman) and C-50 (CTRNN)",
    ),
    (
        "Main claim",
        "RNNs 'significantly outperform established response models by accurately "
        "estimating long-term dependencies that drive hemodynamic responses'",
        "checks 3 (NL: best of L-50/G-50 vs best ridge) and 5 (impulse response)",
    ),
    (
        "Data",
        "fMRI of human subjects (data set, TR, features: not read, spec section 3.2)",
        "SIMULATED: 16 features at 0.1 s, softplus drive with adaptation, balloon-Windkessel "
        "(SPM's equations, RK4 at 0.01 s), TR 1 s, AR(1) noise at noise ceilings 0.5-0.8; and a "
        "LIN control (drive convolved with SPM's canonical HRF)",
    ),
    (
        "Numbers",
        "none could be read (median r, win rates, p-values)",
        "so every check is a criterion of the simulated design, not the paper's value",
    ),
]


def write_report(out: Path, results: dict, figures: list[Path]) -> Path:
    claims = "".join(f"<tr><td>{a}</td><td>{escape.escape(b)}</td><td>{escape.escape(c)}</td></tr>"
                     for a, b, c in CLAIMS)  # fmt: skip
    sections = ["<h2>The paper's claims beside ours</h2><table><tr><th></th><th>paper</th>"
                f"<th>here</th></tr>{claims}</table>"]  # fmt: skip
    for condition, summary in results["conditions"].items():
        models = list(summary["seeds"][0]["median_r"])
        head = "".join(f"<th>{m}</th>" for m in models)
        rows = ""
        for entry in summary["seeds"]:
            ceiling = entry.get("noise_ceiling")
            cells = "".join(f"<td>{entry['median_r'][m]:.3f}</td>" for m in models)
            rows += (
                f"<tr><td>{entry['seed']}</td>{cells}"
                f"<td>{'' if ceiling is None else f'{ceiling:.3f}'}</td>"
                f"<td>{entry['delta']:+.3f}</td><td>{entry['wins']:.2f}</td>"
                f"<td>{entry['p_value']:.1e}</td><td>{entry['impulse_peak']:.0f}</td></tr>"
            )
        sections.append(
            f"<h2>{condition.upper()}: median r over voxels, test run</h2><table><tr><th>seed</th>"
            f"{head}<th>noise ceiling</th><th>Δ best of L-50/G-50 vs best ridge</th>"
            f"<th>voxels won</th><th>Wilcoxon p</th><th>impulse peak (s)</th></tr>{rows}</table>"
        )
        training = "".join(f"<tr><td>{m}</td><td>{t['epochs']}</td><td>{t['reason']}</td>"
                           f"<td>{t['seconds']:.0f}</td></tr>"
                           for m, t in summary["training"].items())  # fmt: skip
        sections.append(f"<p>Training ({condition.upper()}, all seeds at once):</p><table><tr>"
                        f"<th>model</th><th>epochs</th><th>ended by</th><th>s</th></tr>"
                        f"{training}</table>")  # fmt: skip
    sections.append("".join(html.image(p) for p in figures))
    if results["checks"]:
        sections.append(html.checks_table(results["checks"]))
    data = ("the user's own data (no checks: they need the simulation's truth)"
            if results["data"] == "user" else
            "<b>simulated</b> data (the paper's fMRI could not be had offline; see the table "
            "above for how they are made)")  # fmt: skip
    intro = (
        f"<p>Güçlü &amp; van Gerven (2017), Front. Comput. Neurosci. 11:7, on {data}. "
        f"{results['seeds']} seed(s), models {', '.join(results['models'])}; "
        f"{'quick mode; ' if results['quick'] else ''}{results['seconds']:.0f} s.</p>"
    )
    path = out / "report.html"
    path.write_text(html.page("Güçlü & van Gerven (2017): recurrent response models", intro,
                              sections), encoding="utf-8")  # fmt: skip
    return path
