# Two commands on a fresh machine: `make run` (demo site on http://127.0.0.1:8000) and `make test`.
# `make serve` is production (docs/deployment.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Development defaults; production sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY and DATABASE_URL itself.
export DJANGO_DEBUG ?= 1
# Production: debug is off whatever the environment says; gunicorn's address and worker count.
PRODUCTION := env DJANGO_DEBUG=0
GUNICORN_BIND ?= 127.0.0.1:8000
GUNICORN_WORKERS ?= 3

.PHONY: run serve worker test test-fast lint format migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

var:
	mkdir -p var

migrate: $(VENV)/.installed | var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The environment supplies DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, ...: the deploy
# check stops here, before anything is changed, when one is missing or unsafe.
serve: $(VENV)/.installed | var
	$(PRODUCTION) $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(PRODUCTION) $(BIN)/python manage.py migrate --noinput
	$(PRODUCTION) $(BIN)/python manage.py recompute_responses
	$(PRODUCTION) $(BIN)/python manage.py regrade_episodes
	$(PRODUCTION) $(BIN)/python manage.py collectstatic --noinput
	exec $(PRODUCTION) $(BIN)/gunicorn trialsite.wsgi --bind '$(GUNICORN_BIND)' \
		--workers '$(GUNICORN_WORKERS)' --access-logfile - --no-control-socket

# The background worker beside `make serve` (docs/deployment.md): it runs the imports started from
# the browser. Production settings, as `make serve`; any number of workers, on any machine.
worker: $(VENV)/.installed
	exec $(PRODUCTION) $(BIN)/python manage.py db_worker --no-reload

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint | var
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The same without the browser tests, for a quick run while working (CI runs `make test`).
test-fast: lint | var
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest --ignore=tests/browser $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
