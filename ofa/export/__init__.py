"""Export of static networks (and their parts) to deployable formats."""

from ofa.export.onnx_graph import block_onnx, head_onnx, static_to_onnx, stem_onnx
from ofa.layers.onnx_graph import identity_onnx

__all__ = ["block_onnx", "head_onnx", "identity_onnx", "static_to_onnx", "stem_onnx"]
