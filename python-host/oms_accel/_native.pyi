"""Type stubs for the PyO3 extension oms_accel._native (host-native/)."""

__version__: str

def build_info() -> tuple[str, str, str]:
    """(crate version, build profile, target) of the native module."""
