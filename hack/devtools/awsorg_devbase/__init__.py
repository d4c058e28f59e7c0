"""What every dev package needs: child processes that cannot outlive the tests, free ports,
and the one way to wait for a condition. Kept apart so that the emulator, the control plane,
Argo CD and the stack share it without importing each other. Development tooling only:
never shipped with the operator."""

from .polling import WaitTimeoutError, wait_for
from .ports import free_ports
from .process import ManagedProcess, tail

__all__ = ["ManagedProcess", "WaitTimeoutError", "free_ports", "tail", "wait_for"]
