# `make run` starts the app, `make test` runs every test; both set up .venv first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
INTEGRATIONS := .venv-integrations

.PHONY: run serve test test-fast test-integrations lint bench system-packages load

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
