"""What every dev package needs: child processes that cannot outlive the tests and free
ports. Kept apart so that the emulator, the control plane, Argo CD and the stack share it
without importing each other. Development tooling only: never shipped with the operator."""

from .process import ManagedProcess, free_ports, tail

__all__ = ["ManagedProcess", "free_ports", "tail"]
