"""FP32 -> FP16 ONNX conversion, pure onnx.

TensorRT 11 builds strongly typed networks only (the FP16 builder flag is gone), so an FP16
engine needs an FP16 model. This converter covers the ops our exported subnets use; any other
op is refused by name instead of being converted silently wrong."""

from __future__ import annotations

from ofa.errors import OfaError

# Ops whose float inputs and outputs may all become float16 without changing their meaning
# (float attributes such as epsilon, alpha or beta stay float32: ONNX types them so).
FP16_OPS = frozenset({
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
    "ConstantOfShape", "Conv", "Div", "Dropout", "Flatten", "Gather", "Gemm",
    "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity", "MatMul", "MaxPool", "Mul",
    "Pad", "ReduceMean", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax", "Squeeze",
    "Sub", "Transpose", "Unsqueeze",
})
FP16_MAX = 65504.0  # largest finite float16; larger weights are clipped, not turned into inf


def _half_array(values):
    """float16 copy of `values`; weights beyond float16's range are clipped, not turned into inf."""
    import numpy as np

    return np.clip(np.asarray(values, dtype=np.float32), -FP16_MAX, FP16_MAX).astype(np.float16)


def _half_tensor(tensor):
    from onnx import numpy_helper

    return numpy_helper.from_array(_half_array(numpy_helper.to_array(tensor)), tensor.name)


def _convert_node(node) -> None:
    """Float tensors held in attributes (Constant, ConstantOfShape) and Cast-to-float go fp16."""
    from onnx import AttributeProto, TensorProto, helper, numpy_helper

    for attr in list(node.attribute):
        if attr.type == AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
            attr.t.CopyFrom(_half_tensor(attr.t))
        elif node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
            attr.i = TensorProto.FLOAT16
        elif node.op_type == "Constant" and attr.name in ("value_float", "value_floats"):
            # These would still produce float32: restate them as an fp16 tensor.
            values = attr.f if attr.name == "value_float" else list(attr.floats)
            node.attribute.remove(attr)
            node.attribute.append(helper.make_attribute("value", numpy_helper.from_array(_half_array(values))))


def to_fp16(onnx_bytes: bytes) -> bytes:
    """The same model with float32 weights, constants, inputs and outputs in float16."""
    import onnx
    from onnx import TensorProto

    try:
        model = onnx.load_model_from_string(onnx_bytes)
    except Exception as e:  # protobuf's DecodeError and friends
        raise OfaError(f"not a valid ONNX model: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    graph = model.graph
    unsupported = sorted({
        f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
        for n in graph.node
        if n.domain not in ("", "ai.onnx") or n.op_type not in FP16_OPS
    })
    if unsupported:
        raise OfaError(
            f"cannot convert the model to fp16: op(s) {unsupported} are not supported "
            f"(supported: {', '.join(sorted(FP16_OPS))})"
        )
    if len(graph.sparse_initializer):
        raise OfaError("cannot convert the model to fp16: sparse initializers are not supported")

    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(_half_tensor(init))
    for info in (*graph.input, *graph.output, *graph.value_info):
        tensor_type = info.type.tensor_type
        if tensor_type.elem_type == TensorProto.FLOAT:
            tensor_type.elem_type = TensorProto.FLOAT16
    for node in graph.node:
        _convert_node(node)
    return model.SerializeToString()
