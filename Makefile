# moviepipe: `make demo` runs the pipeline end to end, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies from requirements.lock on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# The deployment checkers (checkov, actionlint, zizmor) live in a venv of their own, pinned by
# tools/requirements.lock: checkov's many pins would fight the project's lock.
TOOLS  := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-$(shell cat tools/requirements.lock 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: all venv test unit lint templates format demo bench soak lock clean package tools check-deploy tf-check tools-lock

all: test

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "moviepipe needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy movie_events producers consumers moviepipe tests

# The email templates precompiled by Jinja2 (what the consumer loads); a unit test fails when they are stale.
templates: $(STAMP)
	$(BIN)/python -m consumers.email_notification.logic.rendering

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The whole suite: lint, the deployment checkers, unit, integration, Terraform and end-to-end tests
# (integration over HTTP to the moto server; Terraform applied to the embedded AWS).
# pytest's exit code 5 ("no tests ran") fails the target like any other non-zero code.
test: lint check-deploy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/moviepipe local demo

# Byte code first: with PYTHONDONTWRITEBYTECODE set (it is on some machines), each cold-start subprocess
# would otherwise compile every module edited since its .pyc was written, and time that instead.
bench: $(STAMP)
	$(BIN)/python -m compileall -q movie_events producers consumers moviepipe tests
	$(BIN)/python -m tests.benchmarks

# The chaos soak: N valid events (default 2000) through the whole local pipeline under injected faults,
# then every invariant checked (docs/reliability.md). Stops by itself; exit 1 if an invariant broke.
N ?= 2000
SOAK_ARGS ?=
soak: $(STAMP)
	@$(BIN)/python -m moviepipe.local.soak --events $(N) $(SOAK_ARGS)

$(TOOLS_STAMP): tools/requirements.lock
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r tools/requirements.lock
	@rm -f $(TOOLS)/.installed-*
	@touch $@

tools: $(TOOLS_STAMP)

# checkov on the Terraform and the workflows (every skip is justified beside it), actionlint and
# zizmor (offline: no GitHub API calls) on the workflows. BC_SKIP_MAPPING keeps checkov offline.
check-deploy: $(TOOLS_STAMP)
	BC_SKIP_MAPPING=TRUE $(TOOLS)/bin/checkov --quiet --compact --framework terraform --download-external-modules false -d infra
	BC_SKIP_MAPPING=TRUE $(TOOLS)/bin/checkov --quiet --compact --framework github_actions -d .github/workflows
	$(TOOLS)/bin/actionlint .github/workflows/*.yml
	$(TOOLS)/bin/zizmor --offline .github/workflows

# terraform fmt and validate, then apply, check, smoke-test, re-plan and destroy on the embedded AWS.
tf-check: $(STAMP)
	$(BIN)/python -m pytest tests/terraform $(PYTEST_ARGS)

tools-lock:
	$(PYTHON) -m venv /tmp/moviepipe-lock && /tmp/moviepipe-lock/bin/pip install --quiet uv
	/tmp/moviepipe-lock/bin/uv pip compile tools/requirements.in --python-version 3.11 --generate-hashes --no-header -o tools/requirements.lock

# Re-pin every dependency (needs the package registry); commit the result. requirements.lock is the
# development set (every extra); requirements-lambda.lock is the runtime set on the Lambda's Python,
# constrained to the same versions, and is what `make package` ships.
lock:
	$(PYTHON) -m venv /tmp/moviepipe-lock && /tmp/moviepipe-lock/bin/pip install --quiet uv
	/tmp/moviepipe-lock/bin/uv pip compile pyproject.toml --all-extras --python-version 3.11 --no-header -o requirements.lock
	/tmp/moviepipe-lock/bin/uv pip compile pyproject.toml --python-version 3.12 --python-platform linux \
		--constraint requirements.lock --no-header -o requirements-lambda.lock

# The Lambda zips, one per architecture, shared by every function: build/lambda/moviepipe-x86_64.zip and
# build/lambda/moviepipe-arm64.zip (python3.12, manylinux wheels from requirements-lambda.lock; boto3 is
# the runtime's). Needs only Python and pip; the first run downloads the wheels into build/wheels.
package:
	$(PYTHON) -m moviepipe.packaging --out build/lambda --wheel-cache build/wheels

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
