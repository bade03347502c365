"""Find the project's data folders (devices/, pipelines/, latency/) in a wheel or a checkout."""

from __future__ import annotations

from pathlib import Path

DATA_FOLDERS = ("devices", "pipelines", "latency")


def data_dir(name: str) -> Path:
    """Folder `name`: ofa/_data/<name> inside an installed wheel, else <checkout>/<name>."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; expected one of {DATA_FOLDERS}")
    package = Path(__file__).resolve().parent
    installed = package / "_data" / name
    if installed.is_dir():
        return installed
    return package.parent / name
