"""Component ids of the shell (each page keeps its own ids in its layout module)."""
from enum import Enum


class Shell(str, Enum):
    URL = "shell-url"
    PAGE = "shell-page"
    HEADER = "shell-header"
