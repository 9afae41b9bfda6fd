# Plugsmith: `make run` starts the whole app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Local runs: development mode with the built-in demo provider (apps/demo_provider).
RUN_ENV := DEBUG=true DEMO_PROVIDER_ENABLED=true
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)

.PHONY: run test install install-dev services lint format migrate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app

install-dev: $(VENV)/.installed-dev

migrate: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput

## Install, migrate, set up the demo, start web + worker + beat (SQLite, embedded broker, no Redis).
run: migrate
	@mkdir -p var
	$(RUN_ENV) $(BIN)/python manage.py demo
	PATH="$(abspath $(BIN)):$$PATH" $(RUN_ENV) $(BIN)/honcho -f Procfile.dev start

## Start PostgreSQL and Redis if they are not running (Debian packages as on the CI machines).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start \
		|| { echo "PostgreSQL is not running on 127.0.0.1:5432: start it, e.g. 'pg_ctlcluster <version> main start'"; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
		--save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
		|| { echo "Redis is not running on 127.0.0.1:6379: start it, e.g. 'redis-server --daemonize yes'"; exit 1; }
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "PostgreSQL or Redis did not come up"; exit 1

## Install everything and run the whole suite against PostgreSQL and Redis.
test: install-dev services
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/celery var/cache var/celerybeat-schedule*
