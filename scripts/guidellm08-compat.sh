#!/usr/bin/env bash
# Load reports with GuideLLM 0.8.1's own loader and re-export them the way
# `guidellm export` does (guidellm.benchmark.reimport_benchmarks_report):
#   scripts/guidellm08-compat.sh REPORT.json|.yaml ...
# Each report is loaded with GenerativeBenchmarksReport.load_file, then exported
# to console, csv, html, json and yaml in a temporary directory; the exported
# json is loaded again. Prints one line per report; exits 1 if any fails.
# Sets up a virtualenv in ${GUIDELLM08_VENV:-target/guidellm08-venv} on first use
# (PyPI; guidellm 0.8.1 without torch: a stub module stands in, export never calls it).
# GUIDELLM08_VERBOSE=1 shows GuideLLM's console output for successful reports too.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 REPORT..." >&2; exit 2; }
venv="${GUIDELLM08_VENV:-target/guidellm08-venv}"
if [ ! -f "$venv/.guidellm08-ready" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q guidellm==0.8.1 --no-deps
  # guidellm 0.8.1's requirements, less torch (jinja2 usually arrives with torch).
  "$venv/bin/pip" install -q 'click~=8.4.0' 'culsans~=0.10.0' 'datasets>=5.0.1' \
    eval_type_backport faker 'ftfy>=6.0.0' 'httpx[http2]<1.0.0' loguru msgpack \
    'numpy>=2.0.0' protobuf 'pydantic>=2.11.7' 'pydantic-settings>=2.0.0' \
    'pyyaml>=6.0.0' rich sanic tabulate transformers 'uvloop>=0.18' \
    'more-itertools>=10.8.0' 'typing-extensions>=4.15.0' 'websockets>=13.0' jinja2
  # guidellm.data.loaders.torch subclasses two torch classes at import time.
  stub="$venv/torchstub/torch"
  mkdir -p "$stub/utils/data"
  : > "$stub/__init__.py"
  : > "$stub/utils/__init__.py"
  cat > "$stub/utils/data/dataloader.py" <<'STUB'
class DataLoader:
    def __class_getitem__(cls, item):
        return cls
STUB
  cat > "$stub/utils/data/dataset.py" <<'STUB'
class IterableDataset:
    def __class_getitem__(cls, item):
        return cls
class Dataset:
    def __class_getitem__(cls, item):
        return cls
STUB
  cat > "$stub/utils/data/__init__.py" <<'STUB'
from .dataloader import DataLoader
from .dataset import Dataset, IterableDataset
class Sampler:
    def __class_getitem__(cls, item):
        return cls
STUB
  touch "$venv/.guidellm08-ready"
fi
PYTHONPATH="$venv/torchstub" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$venv/bin/python" - "$@" <<'PY'
import asyncio, contextlib, io, os, sys, tempfile, traceback
from pathlib import Path

from pydantic import ValidationError
from guidellm.benchmark import GenerativeBenchmarksReport, reimport_benchmarks_report

verbose = os.environ.get("GUIDELLM08_VERBOSE") == "1"
failed = 0
for path in sys.argv[1:]:
    log = io.StringIO()
    try:
        with tempfile.TemporaryDirectory(prefix="guidellm08-") as tmp:
            tmp = Path(tmp)
            outputs = [
                {"kind": "console"},
                {"kind": "csv", "path": str(tmp / "benchmarks.csv")},
                {"kind": "html", "path": str(tmp / "benchmarks.html")},
                {"kind": "json", "path": str(tmp / "benchmarks.json")},
                {"kind": "yaml", "path": str(tmp / "benchmarks.yaml")},
            ]
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                report, results = asyncio.run(
                    reimport_benchmarks_report(Path(path), outputs)
                )
            for out in outputs[1:]:
                p = Path(out["path"])
                if not p.is_file() or p.stat().st_size == 0:
                    raise RuntimeError(f"export {out['kind']} wrote nothing to {p}")
            again = GenerativeBenchmarksReport.load_file(tmp / "benchmarks.json")
            if len(again.benchmarks) != len(report.benchmarks):
                raise RuntimeError("re-exported json lost benchmarks")
        kinds = [b.config.strategy.type_ for b in report.benchmarks]
        if verbose:
            sys.stdout.write(log.getvalue())
        print(f"{path}: GuideLLM 0.8.1 loaded {len(kinds)} benchmarks {kinds}")
    except Exception as exc:  # noqa: BLE001
        failed += 1
        sys.stdout.write(log.getvalue())
        print(f"{path}: GuideLLM 0.8.1 FAILED: {type(exc).__name__}", file=sys.stderr)
        if isinstance(exc, ValidationError):
            print(str(exc), file=sys.stderr)
        else:
            traceback.print_exc()
sys.exit(1 if failed else 0)
PY
