"""Data sets by name: the offline `digits` default, CIFAR, and a user's own image folders.

Importing this package is cheap; torch, torchvision and scikit-learn load when a data set does.
"""

from ofa.data.dataset import DataSet
from ofa.data.registry import get_dataset, list_datasets

__all__ = ["DataSet", "get_dataset", "list_datasets"]
