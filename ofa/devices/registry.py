"""The one registry of device profiles: the YAML files in the project's devices/ folder
(found by ofa.resources in a checkout or a wheel), plus any profile named by path."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


from ofa.devices.profile import DeviceProfile, profile_from_dict
from ofa.errors import OfaError
from ofa.files import read_yaml
from ofa.resources import data_dir


def load_profile(path: str | Path) -> DeviceProfile:
    """Read and validate one profile file (safe YAML only)."""
    path = Path(path)
    return profile_from_dict(read_yaml(path, "device profile"), source=path.name)


def build_index(paths: list[Path]) -> tuple[dict[str, DeviceProfile], dict[str, str]]:
    """Profiles by name and alias -> name; a name or alias claimed twice is an error."""
    profiles: dict[str, DeviceProfile] = {}
    owner: dict[str, str] = {}  # every name and alias -> the file that claimed it
    aliases: dict[str, str] = {}
    for path in paths:
        profile = load_profile(path)
        for key in (profile.name, *profile.aliases):
            if key in owner:
                raise OfaError(
                    f"{path.name}: device name or alias '{key}' is already taken by {owner[key]}"
                )
            owner[key] = path.name
        profiles[profile.name] = profile
        aliases.update({a: profile.name for a in profile.aliases})
    return profiles, aliases


@lru_cache(maxsize=None)
def _index() -> tuple[dict[str, DeviceProfile], dict[str, str]]:
    folder = data_dir("devices")
    return build_index(sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]))


def list_devices() -> dict[str, DeviceProfile]:
    """Shipped profiles by name (aliases left out)."""
    return dict(_index()[0])


def device_aliases() -> dict[str, str]:
    """Alias -> profile name."""
    return dict(_index()[1])


# Profiles read from a file by path, by their name: later steps of one command (search, specialize)
# refer to a device by name, and a user's own profile must resolve there too.
_from_files: dict[str, DeviceProfile] = {}


def get_device(name: str | DeviceProfile) -> DeviceProfile:
    """A shipped profile by name or alias, or a profile YAML file by path (then also by its name)."""
    if isinstance(name, DeviceProfile):
        return name
    profiles, aliases = _index()
    if name in profiles:
        return profiles[name]
    if name in aliases:
        return profiles[aliases[name]]
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        profile = load_profile(name)
        if profile.name in profiles or profile.name in aliases:
            raise OfaError(f"{name}: device name '{profile.name}' is taken by a shipped profile; rename it")
        _from_files[profile.name] = profile
        return profile
    if name in _from_files:
        return _from_files[name]
    alias_text = ", ".join(f"{a} -> {n}" for a, n in sorted(aliases.items()))
    raise OfaError(
        f"unknown device '{name}'; known: {', '.join(sorted(profiles))}"
        + (f" (aliases: {alias_text})" if alias_text else "")
        + "; or give a profile YAML file"
    )
