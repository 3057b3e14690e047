# Everything sets itself up: `make lab` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAMPLE ?= data/samples
PORT  ?= 8888
export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup lab test check bench browser clean sample strip

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip --disable-pip-version-check -q install uv
	$(VENV)/bin/uv pip install --python $(PY) -q -e '.[dev]'
	@touch $(STAMP)

# Debian's chromium for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# JupyterLab 4 reads default-setting overrides from <prefix>/share/jupyter/lab/settings/.
# It serves notebooks/ (kernels run there) and opens the triage notebook once it exists.
LAB_OPEN ?= 01_triage.ipynb
lab: setup
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp scripts/lab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	cd notebooks && POSTBACK_KIT_SAMPLE=$(abspath $(SAMPLE)) $(abspath $(VENV))/bin/jupyter lab \
	  --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --ServerApp.root_dir=. \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $$( [ -f $(LAB_OPEN) ] && echo $(LAB_OPEN) )

test: setup browser
	$(PY) -m pytest -q

check: setup
	$(VENV)/bin/ruff check postback_kit tests scripts
	$(VENV)/bin/ruff format --check postback_kit tests scripts
	$(VENV)/bin/mypy

# The committed sample export (data/samples/README.md says what is planted in it).
sample: setup
	$(VENV)/bin/postback-kit sample --out $(SAMPLE) --attempts 24000 --seed 7 --gzip
# Notebooks are committed without outputs (a test checks it).
strip: setup
	$(PY) scripts/strip_notebooks.py

# Benchmarks (BENCHMARKS.md): pandas is installed for the baseline only. BENCH_ARGS e.g.
# `--sizes 1M,10M --reps 3 --out BENCHMARKS.md` (scripts/bench.py --help).
BENCH_ARGS ?= --sizes 1M --reps 3
bench: setup browser
	$(VENV)/bin/uv pip install --python $(PY) -q -e '.[dev,bench]'
	$(PY) scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
