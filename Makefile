# kisweb: `make demo` runs it, `make test` tests it. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Exact versions with their hashes; pyproject.toml keeps the ranges they are chosen from.
LOCK := requirements/lock.txt
BENCH_LOCK := requirements/bench.txt
PORT ?= 8000

# The hosted-mode pass talks to the machine's PostgreSQL and Redis over real connections.
# These keys are for tests only; a real deployment sets its own (README, "Configuration").
# HOSTED_TEST_DB and HOSTED_TEST_REDIS_DB let two checkouts run their hosted passes at once.
HOSTED_TEST_DB ?= kisweb
HOSTED_TEST_REDIS_DB ?= 9
HOSTED_TEST_ENV := KISWEB_MODE=hosted \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(HOSTED_TEST_DB) \
	REDIS_URL=redis://127.0.0.1:6379/$(HOSTED_TEST_REDIS_DB) \
	DJANGO_SECRET_KEY=hosted-test-only-8d1b0c64f3a54e4f9a1e2d7c6b5a49382716f0e9d8c7b6a5 \
	KISWEB_ENCRYPTION_KEYS=hostedtest:ZW5jcnlwdGlvbi1rZXktZm9yLWhvc3RlZC10ZXN0cyE= \
	KISWEB_SSL_REDIRECT=false

.PHONY: demo test lint bench soak report install lock browser services messages clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "kisweb needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r $(LOCK)
	$(PIP) --no-deps -e .
	touch $@

# After changing pyproject.toml: pins for Python 3.11 on Linux, keeping today's pins where the
# ranges allow (`make lock UPGRADE=--upgrade` takes the newest of everything). The bench lock
# is the same set plus pandas, held to the same versions.
LOCK_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform linux --custom-compile-command "make lock" $(UPGRADE) pyproject.toml
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(PIP) uv
	$(LOCK_COMPILE) --extra dev -o $(LOCK)
	$(LOCK_COMPILE) --extra dev --extra bench -c $(LOCK) -o $(BENCH_LOCK)

# Translations are compiled from locale/*.po (the .mo files are not committed).
messages: install
	@command -v msgfmt >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; } || \
		{ echo "msgfmt (GNU gettext) is missing: install gettext"; exit 1; }
	$(BIN)/python manage.py compilemessages --ignore '.venv' --ignore 'staticfiles' -v0

# Browser tests drive Debian's chromium; installed here when missing and we are root.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } || \
		{ echo "chromium is missing: apt-get install chromium (as root)"; exit 1; }

# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 for the hosted pass: installed,
# created and started as needed (tools/services.sh says how, and what to do when it can't).
services:
	@bash tools/services.sh

demo: install messages
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py demo --port $(PORT)

# The fast suite on SQLite (about 7.5 minutes here), then again on PostgreSQL with the same
# (demo) settings, less what cannot differ by engine: tests/kis and tests/kissim use no
# database, and tests/faults drive whole processes whose PostgreSQL side the hosted pass's
# outage and SIGKILL tests cover (about 5 minutes). The hosted pass is PostgreSQL and Redis
# with hosted settings.
PG_PASS_SKIPS := --ignore=tests/kis --ignore=tests/kissim --ignore=tests/faults
test: install messages browser services
	$(BIN)/pytest -m "not hosted and not browser"
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(HOSTED_TEST_DB) \
		$(BIN)/pytest -m "not hosted and not browser" $(PG_PASS_SKIPS)
	$(HOSTED_TEST_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(HOSTED_TEST_ENV) $(BIN)/pytest -m hosted
	$(BIN)/pytest -m browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/check_self_contained.py
	$(BIN)/mypy
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python tools/audit_dependencies.py

# The benchmarks' extra packages (pandas), from their own lock.
$(BENCH_STAMP): $(STAMP) $(BENCH_LOCK)
	$(PIP) --require-hashes -r $(BENCH_LOCK)
	touch $@

# Every benchmark runs and prints its figures; the target fails if any missed its goal.
bench: $(BENCH_STAMP) services
	@failed=""; for script in bench/bench_*.py; do echo "== $$script"; \
		$(BIN)/python $$script || failed="$$failed $$script"; done; \
		if [ -n "$$failed" ]; then echo "missed a target:$$failed"; exit 1; fi

# Long runs: 20 orders/s for a full minute through the ticket view and the journal (p99,
# zero lost, zero doubled, counted at the simulator; `make bench` runs a 5-second version),
# 50 users browsing for 5 minutes (`make bench`: 20 s), 500 browser sockets x 40 symbols for
# 5 minutes (latency, lost, dropped, the server's RSS growth; 50 users of 10 tabs each), then
# 10,000 generated hostile order tickets (`make test` runs 40), 400 generated posts and
# query strings to every route (`make test` runs 10; a quarter where KIS is read), and the
# fault suite at full size: 10 minutes of upstream drops under 100 sockets x 30 symbols, a
# 30 s rate limit, a SIGKILL during 200 orders from 20 users (`make test`: a small version).
soak: $(BENCH_STAMP)
	$(BIN)/python bench/bench_trading.py --soak 60
	$(BIN)/python bench/bench_browsing.py --soak 300
	$(BIN)/python bench/bench_fanout.py --soak 300 --symbols 40 --keys 50
	KISWEB_HOSTILE_EXAMPLES=10000 $(BIN)/pytest tests/trading/test_hostile_ticket.py \
		--hypothesis-show-statistics
	KISWEB_HOSTILE_EXAMPLES=400 $(BIN)/pytest tests/hostile --hypothesis-show-statistics
	KISWEB_SOAK=1 $(BIN)/pytest -m "not hosted and not browser" tests/faults

# docs/reliability.md from one real run: the fault, hostile-input, hostile-user and hosted
# outage tests, the fault suite again at make soak's sizes, and the load benchmarks, each
# recording its figures into a fresh directory (tools/report.py). The report is written even when something failed, which it shows as
# FAILED; the target then fails too. `make report REPORT_ARGS=--quick` for a short run.
report: $(BENCH_STAMP) messages browser services
	$(HOSTED_TEST_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python tools/report.py --hosted-env '$(HOSTED_TEST_ENV)' $(REPORT_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
