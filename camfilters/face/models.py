"""Where the MediaPipe model files come from: option, folder, user cache, or a checked download.

`resolve_model` finds a model; `download_model` checks it against the sha256 in `MODELS`, writes
it atomically, and gives up when no byte arrives for `STALL_S` or the whole takes longer than
`DEADLINE_S`. ``$CAMFILTERS_MODEL_URL`` replaces the download base URL (mirrors, tests on 127.0.0.1).

The selfie segmentation model is MediaPipe's ``selfie_segmentation.tflite`` (general,
256x256 input) from the mediapipe-assets bucket: that is the file whose sha256 MediaPipe's
own build (``third_party/external_files.bzl``) pins and the one we test with. The newer
``image_segmenter/selfie_segmenter/float16/latest/selfie_segmenter.tflite`` is a different
file (and "latest" may change), so it could not be pinned to a checked sha256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from camfilters.errors import RecordingError
from camfilters.media.atomic import AtomicOutput

from .errors import ModelError

log = logging.getLogger(__name__)

MODEL_DIR_ENV = "CAMFILTERS_MODEL_DIR"
MODEL_URL_ENV = "CAMFILTERS_MODEL_URL"
_CHUNK = 1 << 16
#: Seconds without a single byte (connecting or downloading) after which a download is given up.
STALL_S = 30.0
#: Seconds one model download may take in all (the face model is 3.6 MB: 600 s is 6 kB/s).
DEADLINE_S = 600.0


@dataclass(frozen=True)
class ModelInfo:
    """One downloadable model: file name, official URL, sha256 and the CLI option that overrides it."""

    title: str
    filename: str
    url: str
    sha256: str
    option: str


MODELS: dict[str, ModelInfo] = {
    "face": ModelInfo(
        "face landmarker",
        "face_landmarker.task",
        "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
        "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
        "--face-model",
    ),
    "segmentation": ModelInfo(
        "selfie segmentation",
        "selfie_segmentation.tflite",
        "https://storage.googleapis.com/mediapipe-assets/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        "--segmentation-model",
    ),
}


def cache_dir() -> Path:
    """The per-user model cache: XDG cache on Linux, ~/Library/Caches on macOS, LOCALAPPDATA on Windows."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "camfilters" / "Cache" / "models"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "camfilters" / "models"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "camfilters" / "models"


def resolve_model(kind: str, path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The local file of model ``kind`` ("face" or "segmentation"), downloading it if needed.

    Looks at ``path`` (``--face-model`` / ``--segmentation-model``), then
    ``$CAMFILTERS_MODEL_DIR/<file>``, then the per-user cache (`cache_dir`), then downloads
    into ``$CAMFILTERS_MODEL_DIR`` if set, else the cache (with ``download``). Raises ModelError
    (one line: which model, where it looked, what to do) when it is missing and cannot be
    downloaded.
    """
    info = MODELS[kind]
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise ModelError(f"{info.title} model not found: {info.option} {explicit} is not a file")
        return explicit
    looked = []
    env_dir = os.environ.get(MODEL_DIR_ENV)
    if env_dir:
        candidate = Path(env_dir).expanduser() / info.filename
        if candidate.is_file():
            return candidate
        looked.append(str(candidate))
    cached = cache_dir() / info.filename
    if cached.is_file():
        return cached
    looked.append(str(cached))
    hint = (
        f"pass {info.option} PATH, set {MODEL_DIR_ENV} to a folder holding {info.filename}, "
        "or connect to the internet once to download it"
    )
    if not download:
        raise ModelError(f"{info.title} model {info.filename} not found in {' or '.join(looked)}; {hint}")
    folder = Path(env_dir).expanduser() if env_dir else cached.parent
    problem = _folder_problem(folder)
    if problem:
        raise ModelError(f"{info.title} model {info.filename} is not downloaded yet and the model folder {folder} "
                         f"{problem}; set {MODEL_DIR_ENV} to a writable folder, or pass {info.option} PATH")
    url = model_url(info)
    try:
        return download_model(info, folder, url=url)
    except ModelError as exc:
        raise ModelError(f"{info.title} model {info.filename} not found in {' or '.join(looked)} and {exc}; {hint}") from None


def _folder_problem(folder: Path) -> str | None:
    """Why a model cannot be downloaded into ``folder`` (created if missing), or None if it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"cannot be created or written ({exc.strerror or exc})"
    return None


def model_url(info: ModelInfo) -> str:
    """The download URL of ``info``: official, or ``$CAMFILTERS_MODEL_URL/<file>`` when set."""
    base = os.environ.get(MODEL_URL_ENV)
    return f"{base.rstrip('/')}/{info.filename}" if base else info.url


def download_model(info: ModelInfo, folder: Path, *, url: str | None = None) -> Path:
    """Download ``info`` into ``folder`` with a progress bar on stderr; return the checked file.

    The file appears under its final name only after its sha256 matched; on any failure
    (connection, short read, stall, deadline, checksum) nothing is left in ``folder`` and
    ModelError says why.
    """
    url = url or model_url(info)
    problem = _folder_problem(folder)
    if problem:
        raise ModelError(f"the model folder {folder} {problem}")
    try:
        with AtomicOutput(folder / info.filename, what=f"the {info.title} model") as output:
            _fetch(url, output.temp, info)
            return output.commit()
    except RecordingError as exc:  # busy (another process downloads it now), or the folder takes no file
        raise ModelError(str(exc)) from None


def _fetch(url: str, path: Path, info: ModelInfo) -> None:
    """Write the model at ``url`` to ``path`` with a progress bar, within the stall and deadline limits;
    ModelError unless its sha256 is ``info``'s."""
    from tqdm import tqdm

    log.info("downloading the %s model from %s", info.title, url)
    digest = hashlib.sha256()
    received = 0
    deadline = time.monotonic() + DEADLINE_S
    with open(path, "wb") as out:
        try:
            # The socket timeout bounds each wait for data (stall); read1 returns whatever has
            # arrived, so the deadline is checked between the small reads of a trickle.
            with urllib.request.urlopen(url, timeout=STALL_S) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=info.filename, file=sys.stderr,
                          leave=False, disable=None) as bar:
                    while chunk := response.read1(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                        if time.monotonic() > deadline:
                            raise ModelError(f"downloading {url} took longer than {DEADLINE_S:g} s "
                                             f"({received} bytes received)")
        except (OSError, urllib.error.URLError, ValueError) as exc:  # http.client errors are OSError/ValueError
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, TimeoutError):
                reason = f"stalled, no data for {STALL_S:g} s"
            raise ModelError(f"downloading {url} failed after {received} bytes: {reason}") from None
    if total is not None and received != total:
        raise ModelError(f"downloading {url} failed: connection closed after {received} of {total} bytes")
    if digest.hexdigest() != info.sha256:
        raise ModelError(f"downloaded {url} has sha256 {digest.hexdigest()}, expected {info.sha256} (file discarded)")
