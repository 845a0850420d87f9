# The two commands a newcomer runs: `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: report test docs lint format clean venv

# Installs take the versions pinned in constraints.txt (pip freeze of the environment the
# tests last passed in), so a fresh checkout gets the same packages; pyproject.toml keeps ranges.
PIN    := -c constraints.txt

# The real sequences (analysis/data) are files inside these wheels, read without importing
# them: installed pinned and without their dependencies (numba, joblib, ... are never needed).
DATA_WHEELS := scikit-learn tslearn aeon

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(PIN) -e .
	$(PIP) install -q --no-deps $(PIN) $(DATA_WHEELS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q $(PIN) -e '.[dev]'
	# the example notebooks and the docs site are tested, never skipped: no fallback here
	$(PIP) install -q $(PIN) -e '.[notebooks,docs]'
	# The PyTorch/Flax/Equinox peers are optional: tests that need them skip without them.
	$(PIP) install -q $(PIN) -e '.[compare]' || echo "note: optional 'compare' extras did not install; peer tests will skip"
	touch $@

venv: $(VENV)/.installed

report: $(VENV)/.installed
	$(VENV)/bin/actgrad report --out report

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	# two workers, one test file each at a time: compiling dominates, and it overlaps; files in
	# the order tests/conftest.py gives them (the longest first), not by their number of tests
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# The API reference and guide (mkdocs.yml), offline, warnings as errors; open site/index.html.
docs: $(VENV)/.installed-dev
	$(VENV)/bin/mkdocs build --strict

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) report site .pytest_cache
