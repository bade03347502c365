"""ofa: train one elastic supernet, then cut specialized networks out of it for any device."""

__version__ = "0.1.0"
