# otpgate: `make run` starts the service, `make test` runs every check. Both install
# what they need into .venv (uv, pinned by uv.lock) on first use.

PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)

CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: run test lint browsers bench bench-peer bench-prefill profile openapi fuzz cluster sentinel lock clean

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "otpgate needs Python 3.11 or newer (set PYTHON=python3.11)")'
	@test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet uv==$(UV_VERSION); }
	@$(UV) sync --frozen --quiet
	@rm -f $(VENV)/.synced-* && touch $@

run: $(STAMP)
	$(VENV)/bin/otpgate serve

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

# Everything on one Redis (TEST_WORKERS pytest-xdist workers, each with its own Redis),
# then the flow suite (tests marked `topologies`) again on a local Redis Cluster and on a
# Sentinel set, one worker each: six or seven redis-servers per worker would crowd 2 cores.
TEST_WORKERS ?= 2

test: lint browsers
	$(VENV)/bin/pytest -n $(TEST_WORKERS)
	$(VENV)/bin/pytest -m topologies --topology cluster
	$(VENV)/bin/pytest -m topologies --topology sentinel

# The browser tests drive Debian's Chromium with Debian's chromedriver. Installed here when
# missing, if apt-get is there and we are root (a failed install fails the run); otherwise
# those tests skip, saying why.
browsers:
	@if [ -x $(CHROMEDRIVER) ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium and chromium-driver for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	else \
	  echo "no Chromium: install chromium and chromium-driver (the browser tests will skip)"; \
	fi

bench: $(STAMP)
	$(VENV)/bin/python bench/bench.py

# otpgate vs django-phone-verify (pinned in its own venv under bench/peers/, first run only)
bench-peer: $(STAMP)
	$(VENV)/bin/python bench/peer_flow.py

# flows/s with 1,000,000 verifications stored vs an empty Redis (about 1 GiB of RAM)
bench-prefill: $(STAMP)
	$(VENV)/bin/python bench/prefill.py

# py-spy's top of one worker under load (needs ptrace rights)
profile: $(STAMP)
	$(VENV)/bin/python bench/profile.py

openapi: $(STAMP)
	$(VENV)/bin/otpgate openapi

# Schemathesis over openapi.json against a fresh `otpgate serve` (test mode); FUZZ_ARGS go
# to `schemathesis run`, e.g. FUZZ_ARGS="--max-examples 200 --seed 1".
fuzz: $(STAMP)
	$(VENV)/bin/python -m tests.fuzz $(FUZZ_ARGS)

# A local Redis Cluster (3 masters, 3 replicas) or Sentinel set (a primary, 2 replicas,
# 3 sentinels) under var/, until Ctrl-C; it prints its OTPGATE_REDIS_URL. TOPOLOGY_ARGS go
# to the command, e.g. TOPOLOGY_ARGS="--port 7000 --password secret".
cluster: $(STAMP)
	$(VENV)/bin/python -m app.store.topologies cluster --data-dir var/cluster $(TOPOLOGY_ARGS)

sentinel: $(STAMP)
	$(VENV)/bin/python -m app.store.topologies sentinel --data-dir var/sentinel $(TOPOLOGY_ARGS)

lock: $(STAMP)
	$(UV) lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
