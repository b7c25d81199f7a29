# `make run` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?= --filter edge
SYSTEM_PACKAGES := xvfb xdotool imagemagick ffmpeg

.PHONY: run test bench system-packages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[face,vcam,dev]"
	@echo "compiling the filters once (cached on disk; later starts take a second)..."
	$(PY) -c "import filters; filters.warm_up()"
	touch $@

run: $(VENV)/.installed
	$(PY) -m camfilters run $(ARGS)

# The GUI tests drive a real window on Xvfb with xdotool; on a fresh Debian/Ubuntu machine
# run as root, the packages are installed here, elsewhere those tests are skipped with a reason.
system-packages:
	@if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! command -v ffprobe >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "note: install $(SYSTEM_PACKAGES) to run the window tests"; fi; fi

test: $(VENV)/.installed system-packages
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m camfilters bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
