"""Device profiles as data: where and how a subnet's latency is measured."""

from ofa.devices.profile import PRECISIONS, DeviceProfile, profile_from_dict
from ofa.devices.registry import device_aliases, get_device, list_devices, load_profile

__all__ = [
    "PRECISIONS", "DeviceProfile", "device_aliases", "get_device", "list_devices", "load_profile",
    "profile_from_dict",
]
