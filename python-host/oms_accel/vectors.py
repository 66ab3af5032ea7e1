"""The module path of earlier releases: `oms_accel.vector` is the home now."""

from .vector import VectorIndex, gpu_adapter, similarity

__all__ = ["VectorIndex", "gpu_adapter", "similarity"]
