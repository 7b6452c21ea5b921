# `make run` starts the app, `make test` runs every test; both set up .venv first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
INTEGRATIONS := .venv-integrations

# The trained runs the app ships (assets/runs/): about an hour of CPU for the synthetic steps and a few for
# ECG5000 on a 2-core machine. Each run saves to runs/shipped/ every 50 epochs: run it again to resume.
SHIP := --epochs 1000 --select-on-validation --eval-every 10 --seed 0 --resume

.PHONY: shipped-runs run serve test test-fast test-integrations test-min-versions docs lint bench system-packages load

# Re-installs only when a requirements file or the package's metadata changed since the last install.
# The app's stack from requirements.txt (torch pinned), then the core, dilate_core, from this checkout
# as any user installs it (editable, so edits here are live), without its dependencies: its ranges
# admit the pinned ones, and pip must not fetch another torch.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Debian's chromium for the browser tests (Playwright never downloads its own) and nginx for
# the test of the deployment's proxy; the package's own nginx service is not left running.
# Never prompts: as a user without password-less sudo it says what to install, and the tests
# that need them are skipped.
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
		{ $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium nginx-light \
		&& { $$SUDO service nginx stop >/dev/null 2>&1 || true; }; } \
		|| echo "Could not install chromium and nginx-light (run: sudo apt-get install chromium nginx-light); their tests are skipped."; }

# `streamlit run`, with the app's imports, kernels and job pool begun before the first visit (explorer/serve.py).
# An edited page or module is still noticed, by polling the app's own files: Streamlit's default watcher
# watches the checkout recursively, .venv included, and overflows its inotify queue when files change there.
run: $(VENV)/.installed
	$(PY) -m explorer.serve run app.py --server.port $(PORT) --runner.postScriptGC false --server.fileWatcherType poll

# The shared demo server: deploy/.streamlit/config.toml, limits from DILATE_* variables (a run: 5 minutes at most).
serve: $(VENV)/.installed
	cd deploy && DILATE_MAX_JOB_SECONDS=$${DILATE_MAX_JOB_SECONDS:-300} PYTHONPATH=.. ../$(PY) -m explorer.serve run ../app.py --server.port $(PORT) --server.address $${ADDRESS:-0.0.0.0}

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: $(VENV)/.installed-dev system-packages lint
	$(PY) -m pytest

# The numerical core and the fast app tests (about a minute): no browser, worker processes or Ray.
test-fast: $(VENV)/.installed-dev
	$(PY) -m pytest -m "not slow"

load: $(VENV)/.installed-dev system-packages
	$(PY) -m bench.load_test --sessions 1 4 8

# darts, pytorch-forecasting and neuralforecast train with DILATE (tests/test_integrations.py), in a
# venv of their own: they are large and pin a pandas the app's requirements do not allow.
$(INTEGRATIONS)/.installed: requirements-integrations.txt pyproject.toml
	test -x $(INTEGRATIONS)/bin/python || $(PYTHON) -m venv $(INTEGRATIONS)
	$(INTEGRATIONS)/bin/python -m pip install -q -r requirements-integrations.txt
	$(INTEGRATIONS)/bin/python -m pip install -q --no-deps -e .
	touch $@

test-integrations: $(INTEGRATIONS)/.installed
	$(INTEGRATIONS)/bin/python -m pytest -m integrations tests/test_integrations.py

bench: $(VENV)/.installed-dev
	$(PY) -m bench.bench_losses
	$(PY) -m bench.bench_training

# The library's tests at the lowest versions pyproject.toml declares (torch 2.13.0 is the one
# installable here; numpy and numba at their floors), in a venv of their own, built once.
MIN_VENV := .venv-min
$(MIN_VENV)/.installed: pyproject.toml
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(MIN_VENV)
	$(PY) -m pip --python $(MIN_VENV)/bin/python install -q torch==2.13.0 numba==0.62.0 numpy==1.25.2 pytest
	$(PY) -m pip --python $(MIN_VENV)/bin/python install -q --no-deps -e .
	touch $@

test-min-versions: $(MIN_VENV)/.installed $(VENV)/.installed
	$(MIN_VENV)/bin/python -m pytest -p no:cacheprovider -m "not slow" tests/test_autograd.py tests/test_modules.py \
		dilate_core/losses.py dilate_core/modules.py

# docs/api.md from the docstrings (tests/test_docs.py checks it is up to date).
docs: $(VENV)/.installed
	$(PY) -m docs.build_api

shipped-runs: $(VENV)/.installed
	mkdir -p runs/shipped assets/runs
	$(PY) -m dilate_lab train --dataset synthetic $(SHIP) --n-preview 48 --save runs/shipped/synthetic.pt --ship assets/runs/synthetic.pt
	$(PY) -m dilate_lab train --dataset ecg5000 $(SHIP) --n-preview 24 --save runs/shipped/ecg5000.pt --ship assets/runs/ecg5000.pt
