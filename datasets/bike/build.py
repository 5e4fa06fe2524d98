"""Rebuild bikeshare_hourly_2011.csv from the ISLP package on PyPI.

    python datasets/bike/build.py

Downloads the ISLP wheel (without its heavy dependencies), copies ISLP/data/Bikeshare.csv
next to this script and checks the sha256 stated in README.md. The only step of the course
that uses the network.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "bikeshare_hourly_2011.csv"
ISLP_VERSION = "0.6.0"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        f"ISLP=={ISLP_VERSION}", "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            TARGET.write_bytes(zf.read("ISLP/data/Bikeshare.csv"))
    stated = re.search(r"sha256[^`]*`([0-9a-f]{64})`", (HERE / "README.md").read_text()).group(1)
    actual = hashlib.sha256(TARGET.read_bytes()).hexdigest()
    print(f"wrote {TARGET.name}: sha256 {actual}")
    if actual != stated:
        print(f"checksum differs from README.md ({stated}): update the README if the source changed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
