#!/usr/bin/env bash
# Load reports with GuideLLM 0.4.0's own loader (GenerativeBenchmarksReport.load_file):
#   scripts/guidellm-compat.sh REPORT.json|.yaml ...
# Sets up a virtualenv in ${GUIDELLM_VENV:-target/guidellm-venv} on first use
# (PyPI; guidellm 0.4.0 without torch: a stub module stands in, the loader never calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 REPORT..." >&2; exit 2; }
venv="${GUIDELLM_VENV:-target/guidellm-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q guidellm==0.4.0 --no-deps
  "$venv/bin/pip" install -q pydantic pydantic-settings numpy httpx loguru pyyaml rich msgpack \
    'culsans~=0.10.0' eval_type_backport ftfy 'click<8.2' tabulate faker datasets==4.4.1 \
    transformers==4.57.1 huggingface-hub==0.36.0 uvloop
  # GuideLLM imports a few torch names for annotations only.
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
fi
PYTHONPATH="$venv/torchstub" "$venv/bin/python" - "$@" <<'PY'
import sys
from guidellm.benchmark import GenerativeBenchmarksReport
for path in sys.argv[1:]:
    report = GenerativeBenchmarksReport.load_file(path)
    kinds = [b.config.strategy.type_ for b in report.benchmarks]
    print(f"{path}: GuideLLM 0.4.0 loaded {len(kinds)} benchmarks {kinds}")
PY
