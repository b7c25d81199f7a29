"""Render docs/lens_<name>.png: every lens on the astronaut photo (run by hand, not a test).

    python scripts/make_lens_gallery.py [NAME ...]     # every lens, or only those named

The ``pack`` lens gives one picture per built-in pack: docs/lens_pack-<pack>.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from camfilters.face import build_face_stage
from camfilters.face.lenses import LENSES
from camfilters.face.packs import builtin_packs
from camfilters.pipeline import Pipeline, stage_from_spec

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
PHOTO = ROOT.parent / "shared" / "media" / "astronaut.png"


class Gray:
    """A stand-in filter chain for bg-only: greyscale."""

    name = "gray"

    def process(self, image: np.ndarray, timestamp: float) -> np.ndarray:
        return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def specs(name: str) -> dict[str, str]:
    """{picture name: lens spec} for lens ``name``."""
    if name == "pack":
        return {f"pack-{pack}": f"pack:name={pack}" for pack in builtin_packs()}
    return {name: "bg-replace:color=40,90,160" if name == "bg-replace" else name}


def main(names: list[str]) -> None:
    # Upscaled 2x so the face is about as big as in a 720p webcam picture.
    photo = cv2.resize(cv2.imread(str(PHOTO), cv2.IMREAD_COLOR), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    inner = {"face-only": Pipeline([stage_from_spec("cartoon")]), "bg-only": Gray()}
    for name in names or LENSES.names():
        cls = LENSES.get_class(name)
        for picture, spec in specs(name).items():
            with build_face_stage([spec], inner.get(name), face_model=str(MODELS / "face_landmarker.task"),
                                  segmentation_model=str(MODELS / "selfie_segmentation.tflite"),
                                  synchronous=True) as stage:
                for i in range(3):
                    out = stage.process(photo, i / 30.0)
            target = ROOT / "docs" / f"lens_{picture}.png"
            if cls.needs_faces and not getattr(cls, "reframes", False):  # a close-up of the face
                out = out[60:420, 280:640] if name != "pack" else out[0:420, 250:670]
            out = cv2.resize(out, (360, 360), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(target), out, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(target, target.stat().st_size)


if __name__ == "__main__":
    main(sys.argv[1:])
