# gwcore: `make run` starts the gateway on the bundled example; `make test` installs and tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SOURCES := $(shell find gwcore workers supervisor -name '*.py' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.lua' 2>/dev/null) setup.py pyproject.toml
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test install system-deps bench-deps bench bench-quick bench-accuracy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "setuptools>=77" wheel "Cython>=3.0,<4"

$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/pip install -q --no-build-isolation '.[test]'
	@$(BIN)/gwcore version
	@touch $@

install: $(STAMP)

# Debian packages the tests use: redis-server (state tests) and curl (a client in end-to-end tests).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# What the benchmarks use: nginx (origin and peer proxy) and wrk from Debian, locust from PyPI.
bench-deps: $(STAMP)
	@missing=""; \
	command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@$(BIN)/python -c "import locust" 2>/dev/null || $(BIN)/pip install -q "locust>=2.20,<3"

# bench writes bench/RESULTS.md; bench-quick only prints. Options: make bench BENCH_ARGS="--pin" (bench/README.md).
bench: bench-deps
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-quick: bench-deps
	$(BIN)/python bench/run.py --quick $(BENCH_ARGS)

# The limiter accuracy harness (bench/accuracy.py): gwcore and a redis-server of its own, nothing else.
# ~20 s; exits non-zero on any over-admission. Options: make bench-accuracy ACCURACY_ARGS="--gateways 4".
ACCURACY_ARGS ?=
bench-accuracy: $(STAMP)
	@command -v redis-server >/dev/null || { echo "installing Debian packages: redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }
	$(BIN)/python bench/accuracy.py $(ACCURACY_ARGS)

run: $(STAMP)
	$(BIN)/python examples/quickstart.py

test: system-deps $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-pure build *.egg-info gwcore/_fastpath.c gwcore/*.so gwcore/state/_shm.c gwcore/state/*.so
