# `make run` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?= --filter edge
# Debian packages the tests use: Xvfb + xdotool + ImageMagick (the window tests), ffmpeg (ffprobe),
# stress-ng (`make test-loaded`), PulseAudio + PortAudio (audio tests), espeak-ng (the denoiser's test speech);
# SYSTEM_COMMANDS tells if they are there.
SYSTEM_PACKAGES := xvfb xdotool imagemagick ffmpeg stress-ng pulseaudio pulseaudio-utils libportaudio2 espeak-ng
SYSTEM_COMMANDS := Xvfb xdotool import ffprobe stress-ng pulseaudio pactl espeak-ng
# the quick loop: no window (gui), MediaPipe (face) or subprocess and wall-time (slow) tests
FAST := not gui and not face and not slow
# pytest-xdist: one test process per core; each test file runs whole in one of them (its module fixtures
# are built once; --dist loadgroup does not group on pytest 9.2, pytest-xdist issue 1386)
PARALLEL ?= -n auto --dist loadfile

.PHONY: run test test-fast test-loaded lint bench system-packages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[face,vcam,audio,denoise,dev,cluster]"
	@echo "compiling the filters once (cached on disk; later starts take a second)..."
	$(PY) -c "import filters; filters.warm_up(); from camfilters.face.cover import warm_up; warm_up()"
	touch $@

run: $(VENV)/.installed
	$(PY) -m camfilters run $(ARGS)

# The GUI tests drive a real window on Xvfb with xdotool; on a fresh Debian/Ubuntu machine
# run as root, the packages are installed here, elsewhere those tests are skipped with a reason.
system-packages:
	@missing=; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing="$$missing libportaudio2"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "note: missing$$missing; install $(SYSTEM_PACKAGES) to run the window tests"; fi; fi

lint: $(VENV)/.installed
	$(PY) -m ruff check .

# everything, tests in parallel (PARALLEL= runs them one after another)
# The serial tests raise signals in the test process itself: they run in pytest's own process, after the rest,
# since a signal raised in an xdist worker can stop the worker.
test: lint system-packages
	$(PY) -m pytest $(PARALLEL) -m "not serial" && $(PY) -m pytest -m serial

# the quick loop while editing (see FAST)
test-fast: lint
	$(PY) -m pytest -m "$(FAST) and not serial" $(PARALLEL) && $(PY) -m pytest -m "$(FAST) and serial"

# the whole suite with both cores busy, as on a loaded machine: every test must still pass
test-loaded: lint system-packages
	@stress-ng --cpu 2 --timeout 3600s >/dev/null 2>&1 & load=$$!; \
	$(PY) -m pytest $(PARALLEL) -m "not serial" && $(PY) -m pytest -m serial; status=$$?; kill $$load; exit $$status

bench: $(VENV)/.installed
	$(PY) -m camfilters bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
