"""The elastic supernet, its static subnets, and their costs."""

from ofa.supernet.config import BlockConfig, NetConfig, net_config
from ofa.supernet.cost import Cost, net_cost, subnet_cost
from ofa.supernet.static import StaticNet, load_static, save_static
from ofa.supernet.supernet import Supernet

__all__ = [
    "BlockConfig", "Cost", "NetConfig", "StaticNet", "Supernet", "load_static", "net_config",
    "net_cost", "save_static", "subnet_cost",
]
