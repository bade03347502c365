"""Export of static networks to deployable formats."""

from ofa.supernet import static_to_onnx
from ofa.layers.onnx_graph import identity_onnx

__all__ = ["identity_onnx", "static_to_onnx"]
