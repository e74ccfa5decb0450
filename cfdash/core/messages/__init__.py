"""Protocol messages (moved into a package; split into modules by the next commit)."""

from .validate import *  # noqa: F403
from .validate import __all__  # noqa: F401
