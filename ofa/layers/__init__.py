"""Building blocks that every family of spaces shares: channel rounding (no torch), and, in their
own modules, the elastic and static torch layers and the ONNX writer's primitives."""
