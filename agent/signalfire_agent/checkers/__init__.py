"""The 8 checkers of the seed's CHECKER_REGISTRY."""

from __future__ import annotations

import sys

from signalfire_agent.checkers.base import BaseChecker, ConfigError
from signalfire_agent.checkers.cpu import CPUChecker
from signalfire_agent.checkers.disk import DiskChecker
from signalfire_agent.checkers.memory import MemoryChecker
from signalfire_agent.checkers.network import NetworkChecker
from signalfire_agent.checkers.process import ProcessChecker
from signalfire_agent.checkers.scan import DiskCommonChecker, DiskLinuxChecker, DiskMacOSChecker

CHECKER_REGISTRY: dict[str, type[BaseChecker]] = {
    "cpu": CPUChecker,
    "memory": MemoryChecker,
    "disk": DiskChecker,
    "disk_common": DiskCommonChecker,
    "disk_linux": DiskLinuxChecker,
    "disk_macos": DiskMacOSChecker,
    "network": NetworkChecker,
    "process": ProcessChecker,
}


def default_checkers() -> list[str]:
    """Every checker that can run on this platform (disk_macos only on macOS, disk_linux only on Linux)."""
    names = ["cpu", "memory", "disk", "network", "process", "disk_common"]
    if sys.platform.startswith("linux"):
        names.append("disk_linux")
    elif sys.platform == "darwin":
        names.append("disk_macos")
    return names


__all__ = ["CHECKER_REGISTRY", "BaseChecker", "ConfigError", "default_checkers"]
