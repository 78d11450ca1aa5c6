"""The web app over a run (`vocvision app RUN`): predictions and live attacks in a browser."""

from .handlers import ATTACKS, UploadError, analyse, attack_image, check_upload
from .server import build_app, serve

__all__ = [
    "ATTACKS",
    "UploadError",
    "analyse",
    "attack_image",
    "build_app",
    "check_upload",
    "serve",
]
