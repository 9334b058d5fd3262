# Every target sets up what it needs; `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINKED := $(VENV)/.linked
# A folder's modification time changes when a file in it is added, removed or renamed.
SOURCE_DIRS := $(shell find agent tools sandbox -type d -not -name __pycache__)

.PHONY: setup sandbox-deps lint typecheck test test-unit bench demo selftest tiny-checkpoint

# pip shows its progress here: the first install takes a few minutes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -e '.[dev,cpu,mcp,server,ray]' --config-settings editable_mode=strict
	# PyPI's torchvision, torchaudio and torchcodec do not match the CPU torch and break vllm.
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	touch $(STAMP)

# Strict editable installs link each module. The install links them; after that, re-link when a
# module was added, removed or renamed: when a folder changed since the install.
$(LINKED): $(STAMP) $(SOURCE_DIRS)
	@if [ -n "$$(find $(SOURCE_DIRS) -maxdepth 0 -newer $(STAMP))" ]; then \
		echo "re-linking harmony_agent's modules"; \
		$(BIN)/pip install -q --no-deps -e . --config-settings editable_mode=strict; fi
	touch $(LINKED)

# The python tool's sandbox uses bubblewrap; install it when missing and we may (root with apt).
# Elsewhere the sandbox runs degraded and says so (`python -m harmony_agent.sandbox`).
sandbox-deps:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; }; }; } || \
		echo "bubblewrap not installed: python sandbox isolation will be degraded"

setup: $(LINKED) sandbox-deps

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy -p harmony_agent
	$(BIN)/mypy tests bench

test-unit: setup
	$(BIN)/pytest tests/unit -q

test: lint typecheck
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/turn_overhead.py
	$(BIN)/python bench/browser.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python -m bench.vllm_engine

demo: setup
	$(BIN)/harmony-agent demo

selftest: setup
	$(BIN)/harmony-agent selftest

# Trains the tiny checkpoint the package ships again (when its test says that the recipe
# changed): tens of minutes on a 2-core CPU. Commit agent/tiny/checkpoint.* afterwards.
tiny-checkpoint: setup
	$(BIN)/python -m harmony_agent.tiny agent/tiny
