# Quick start: `make run` (serve the demo) and `make test` (the whole suite).
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
STAMP   := $(VENV)/.install-stamp
VENDOR  := static/vendor
FLASK   := $(BIN)/flask --app portal
DEMO    := portal/directory/demo.json

.PHONY: install run worker test bench prod translations compile-translations clean

install: $(STAMP) $(VENDOR)/.stamp compile-translations

# Python packages come from a wheelhouse kept outside the checkout ($(WHEELS)): a clean clone
# (as CI's) installs from it without asking the registry; when a pin is missing there, pip
# downloads the lot into it from the registry, then installs from it (setuptools is the build
# backend of the editable install, isolated, hence in the wheelhouse too). The venv's own pip
# does it: upgrading pip first would be one more download for nothing.
WHEELS  ?= $(HOME)/.cache/cpor-wheels
OFFLINE := $(BIN)/pip install --quiet --no-index --find-links $(WHEELS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(OFFLINE) -e '.[test]' 2>/dev/null || { \
	  $(BIN)/pip download --quiet --dest $(WHEELS) '.[test]' 'setuptools>=68' && \
	  $(OFFLINE) -e '.[test]'; }
	touch $@

# htmx and Pico CSS come from the npm registry, pinned by package-lock.json; never committed.
$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	touch $@

compile-translations: $(STAMP)
	$(BIN)/pybabel compile -d translations

# Re-extract the strings and merge them into the French catalog (then translate the new ones).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

run: install
	$(FLASK) db upgrade
	$(FLASK) directory import $(DEMO)
	@$(FLASK) directory logins $(DEMO)
	@echo "Serving on http://127.0.0.1:5000"
	$(FLASK) run --host 127.0.0.1 --port 5000

# A background worker, for when jobs go through Redis (PORTAL_JOBS_EAGER=0 and REDIS_URL set);
# `make run` needs none: in development jobs run in the web process.
worker: install
	$(FLASK) worker

# pytest-xdist workers, each with databases (and a live server) of its own: one more than the
# cores, since the browser tests spend most of their time waiting on Chromium; idle workers
# steal queued tests from busy ones, so one slow browser test doesn't hold the end of the run.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# Load benchmark, not a test: a million claims in a scratch PostgreSQL database (BENCH_DATABASE_URL,
# emptied and refilled when its fill differs), each endpoint under wrk against a bare floor route.
# BENCH_QUICK=1 for a small run of a few minutes. Installs wrk with apt-get when missing.
bench: install
	bash bench/setup.sh
	$(BIN)/python -m bench

# The production topology on loopback: nginx on 127.0.0.1:8080 in front of two gunicorn servers,
# the worker (when the job queue is there), PostgreSQL and Redis (running already). Ctrl-C stops
# it all. Installs nginx with apt-get when missing. See "Running it for real" in the README.
prod: install
	bash deploy/setup.sh
	$(BIN)/python -m deploy.prod

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
