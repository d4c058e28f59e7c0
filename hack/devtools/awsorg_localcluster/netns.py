"""The node's network: a network namespace of its own, joined to this one by a veth pair.

containerd, the kubelet and every pod live in the namespace (``nsenter --net=PATH``), so
the iptables chains the kubelet always adds (KUBE-FIREWALL among them), the CNI bridge and
the pods' routes never touch the host's. The namespace is a bind mount on a file in the
node's folder (``unshare --net=FILE``), not under /run/netns, and ``ip netns exec`` is not
used: it remounts /sys.

Addresses: a free /30 in 10.213.0.0/16. Its first address (:attr:`NodeNetwork.host_address`)
is on the host side: the API server listens there, and so does any server that pods are to
reach (the AWS emulator). Its second (:attr:`NodeNetwork.node_address`) is the node's.
Inside the namespace the default route is a blackhole: the /30 is the only way out, so
pods reach this machine and nothing else. Traffic from pods is masqueraded to the node's
address (the CNI bridge's ``ipMasq``), so the host needs no route back.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import subprocess
from pathlib import Path

__all__ = ["NodeNetwork", "NodeNetworkError"]

_RANGE = ipaddress.ip_network("10.213.0.0/16")
#: The pods' subnet and the Services' range: they exist only inside the namespace.
POD_SUBNET = "10.214.0.0/24"
SERVICE_RANGE = "10.215.0.0/24"
KUBERNETES_SERVICE_IP = "10.215.0.1"


class NodeNetworkError(RuntimeError):
    """A command that sets up the node's network failed; the message has its output."""


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        raise NodeNetworkError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def _used_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks the host already has an address or a route in."""
    used = []
    for line in _run("ip", "-4", "-o", "addr", "show").splitlines():
        used.append(ipaddress.ip_interface(line.split()[3]).network)
    for line in _run("ip", "-4", "route", "show", "table", "all").splitlines():
        first = line.split()[0] if line.split() else ""
        with contextlib.suppress(ValueError):
            if first not in ("default", "broadcast", "local", "unreachable", "blackhole"):
                used.append(ipaddress.ip_network(first, strict=False))
    return used


def _free_subnet() -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    used = _used_networks()
    for _ in range(64):
        candidate = ipaddress.ip_network(
            f"10.213.{secrets.randbelow(256)}.{4 * secrets.randbelow(64)}/30"
        )
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise NodeNetworkError(f"no free /30 in {_RANGE} on this host")


class NodeNetwork:
    """Creates the namespace and its link in :meth:`create`; :meth:`destroy` undoes both."""

    def __init__(self, folder: Path) -> None:
        self.netns_path = folder / "netns"
        self.suffix = suffix = secrets.token_hex(3)
        self._host_link = f"aw{suffix}h"
        self._node_link = f"aw{suffix}n"
        subnet = _free_subnet()
        self.prefix = subnet.prefixlen
        self.host_address = str(subnet.network_address + 1)
        self.node_address = str(subnet.network_address + 2)
        self._created: list[str] = []

    def nsenter(self) -> list[str]:
        """The argv prefix that runs a command inside the namespace."""
        return ["nsenter", f"--net={self.netns_path}"]

    def run(self, *argv: str) -> str:
        """Run a command inside the namespace; returns its stdout."""
        return _run(*self.nsenter(), *argv)

    def create(self) -> None:
        self.netns_path.parent.mkdir(parents=True, exist_ok=True)
        self.netns_path.touch()
        _run("unshare", f"--net={self.netns_path}", "true")
        self._created.append("netns")
        _run(
            "ip", "link", "add", self._host_link, "type", "veth",
            "peer", "name", self._node_link, "netns", str(self.netns_path),
        )  # fmt: skip
        self._created.append("link")
        _run("ip", "addr", "add", f"{self.host_address}/{self.prefix}", "dev", self._host_link)
        _run("ip", "link", "set", self._host_link, "up")
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "addr", "add", f"{self.node_address}/{self.prefix}", "dev", self._node_link)
        self.run("ip", "link", "set", self._node_link, "up")
        # Components need a default route to pick addresses; this one drops everything.
        self.run("ip", "route", "add", "blackhole", "default")
        self.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def route_service(self, cluster_ip: str, port: int, target: str, target_port: int) -> None:
        """Send ``cluster_ip:port`` (TCP) to ``target:target_port``, from pods (PREROUTING)
        and from the node itself (OUTPUT): the Service routing a kube-proxy would do."""
        rule = [
            "-d", f"{cluster_ip}/32", "-p", "tcp", "--dport", str(port),
            "-j", "DNAT", "--to-destination", f"{target}:{target_port}",
        ]  # fmt: skip
        for chain in ("PREROUTING", "OUTPUT"):
            self.run("iptables", "-w", "-t", "nat", "-A", chain, *rule)

    def destroy(self) -> None:
        """Remove the link (both ends) and the namespace; idempotent."""
        if "link" in self._created:
            with contextlib.suppress(NodeNetworkError):
                _run("ip", "link", "del", self._host_link)
        if "netns" in self._created:
            with contextlib.suppress(NodeNetworkError):
                _run("umount", str(self.netns_path))
            self.netns_path.unlink(missing_ok=True)
        self._created.clear()
