# `make run` starts the app, `make test` runs every test; both set up .venv first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run serve test lint bench system-packages load

# Re-installs only when a requirements file changed since the last install.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Debian's chromium for the browser tests (Playwright never downloads its own) and nginx for
# the test of the deployment's proxy; the package's own nginx service is not left running.
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium nginx-light \
		&& { $$SUDO service nginx stop >/dev/null 2>&1 || true; }; }

run: $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.port $(PORT) --runner.postScriptGC false

# The shared demo server: deploy/.streamlit/config.toml, limits from DILATE_* variables (a run: 5 minutes at most).
serve: $(VENV)/.installed
	cd deploy && DILATE_MAX_JOB_SECONDS=$${DILATE_MAX_JOB_SECONDS:-300} ../$(PY) -m streamlit run ../app.py --server.port $(PORT) --server.address $${ADDRESS:-0.0.0.0}

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: $(VENV)/.installed-dev system-packages lint
	$(PY) -m pytest

load: $(VENV)/.installed-dev system-packages
	$(PY) -m bench.load_test --sessions 1 4 8

bench: $(VENV)/.installed-dev
	$(PY) -m bench.bench_losses
	$(PY) -m bench.bench_training
