"""rnnlab's layers against torch.nn, forward + backward: see rnnlab.bench (also `rnnlab bench`).

Usage: python bench/layers.py [--quick] [--out bench/layers.json]
"""

import argparse

from rnnlab.bench import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a subset, in under a minute")
    parser.add_argument("--out", default="bench-layers.json", help="where to write the JSON")
    arguments = parser.parse_args()
    run(quick=arguments.quick, out=arguments.out)
