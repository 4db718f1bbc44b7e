# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# uv installs exactly what uv.lock pins into .venv; uv itself is bootstrapped into .uv with pip.

# The interpreter's real path, not a pyenv shim: uv compares it with .venv's and would otherwise
# delete and recreate the environment on every call.
PYTHON ?= $(shell $$(command -v python3.11 || command -v python3) -c 'import sys; print(sys.executable)')
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: install postgres-server chromium demo test dev summary report clean bench-latency bench-incremental bench-concurrency bench-faults bench-run

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every run worker and dbt process imports thousands of modules; where Python may
# not write its bytecode cache (PYTHONDONTWRITEBYTECODE, read-only installs) it would compile them
# all on each start, seconds per process.
# The dbt manifest is built here, not when the definitions are imported (medallion_platform/dbt_project.py):
# parsed again only when it is missing or older than a file in sql/.
install: $(UV)
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m medallion_platform.dbt_project

demo: install
	$(VENV)/bin/medallion demo

# The production instance's test (medallion_platform_tests/test_deploy.py) starts a real PostgreSQL
# server from Debian's package: installed here when missing (as root, as CI runs; else through sudo).
postgres-server:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends postgresql; }

# The browser test (medallion_platform_tests/test_dashboard.py) renders the Gold dashboard in headless
# Chromium from Debian's package: installed here when missing, like the PostgreSQL server.
chromium:
	@[ -x /usr/bin/chromium ] || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

test: install postgres-server chromium
	$(VENV)/bin/python -m pytest

# `make dev PORT=3001` when 3000 is taken.
PORT ?= 3000
dev: install
	$(VENV)/bin/medallion dev --port $(PORT)

summary: install
	$(VENV)/bin/medallion summary

report: install
	$(VENV)/bin/medallion report

# Benchmarks, not tests: each builds its own warehouse under /tmp and writes benchmarks/results/*.json.
bench-latency: install
	$(VENV)/bin/python benchmarks/latency.py

bench-incremental: install
	$(VENV)/bin/python benchmarks/incremental.py

bench-concurrency: install
	$(VENV)/bin/python benchmarks/concurrency.py

bench-faults: install
	$(VENV)/bin/python benchmarks/faults.py

# The full build against a bare DuckDB script and pandas on the same files: `make bench-run SCALE=1.0`.
SCALE ?= 0.1
bench-run: install
	$(VENV)/bin/python -m benchmarks.run --scale $(SCALE)

clean:
	rm -rf data sql/target
