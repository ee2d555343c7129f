"""Machines for the multi-host tests: Linux network namespaces on one switch, each with its own hostname.

A :class:`Host` is where a process runs and the address the others reach it at. :data:`LOCAL` is this
machine as it is (the one-host stack of ``tests/prod_stack.py``). :func:`network` makes one network
namespace per host (``ip netns``), each joined by a veth pair to a bridge in a switch namespace of its own,
and one UTS namespace per host, so each host has its own hostname. The hosts reach each other at
``10.77.0.x`` and at nothing else: inside a host, 127.0.0.1 is that host's own loopback, so a service
that tried to reach another host's service at 127.0.0.1 would fail instead of silently taking a short cut.
Every namespace belongs to the test that made it (the switch too), so tests running side by side never
share an address.

The test acts in a host through :meth:`Host.entered`: the calling thread joins the host's namespaces
(``setns``) and leaves them after. A process started inside inherits them, as on that machine; a request
made inside goes over the host's network, as from that machine. No ``ip netns exec`` wrapper is needed,
so a service keeps its own process group and user (PostgreSQL runs as ``nobody``).

:meth:`Network.cut` unplugs a host (its port on the switch goes down): its packets go nowhere, as when a
machine drops off the network, and nothing on it is told. :func:`network` deletes every namespace it made
when the block ends, failing or not; namespaces a killed test left behind (their owner's pid is gone) are
deleted, with the processes inside, the next time one is made.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

CLONE_NEWNET = 0x40000000
CLONE_NEWUTS = 0x04000000
SUBNET = "10.77.0"
PREFIX = "pinnet"  # namespace names: pinnet<owner pid>-<host>
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _thread_ns(kind: str) -> int:
    return os.open(f"/proc/thread-self/ns/{kind}", os.O_RDONLY)


@dataclass(frozen=True)
class Host:
    """A machine: its hostname, the address others reach it at, and its namespaces (none: this machine)."""

    name: str
    address: str = "127.0.0.1"
    netns: str | None = None
    uts_fd: int | None = field(default=None, compare=False, repr=False)

    @contextlib.contextmanager
    def entered(self) -> Iterator[Host]:
        """The calling thread in this host's network and hostname for the block; back where it was after."""
        if self.netns is None:
            yield self
            return
        targets = [(os.open(f"/run/netns/{self.netns}", os.O_RDONLY), CLONE_NEWNET, "net")]
        if self.uts_fd is not None:
            targets.append((os.dup(self.uts_fd), CLONE_NEWUTS, "uts"))
        homes = []
        try:
            for fd, kind, name in targets:
                home = _thread_ns(name)
                _check(_libc.setns(fd, kind), f"setns {name} {self.netns}")
                homes.append((home, kind))
            yield self
        finally:
            for home, kind in reversed(homes):
                _check(_libc.setns(home, kind), "setns back")
                os.close(home)
            for fd, _, _ in targets:
                os.close(fd)


LOCAL = Host("localhost")


def _ip(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def _new_uts(hostname: str) -> int:
    """A new UTS namespace named ``hostname``, held open by the returned fd; the thread stays in its own."""
    home = _thread_ns("uts")
    try:
        _check(_libc.unshare(CLONE_NEWUTS), "unshare uts")
        name = hostname.encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
        return _thread_ns("uts")
    finally:
        _check(_libc.setns(home, CLONE_NEWUTS), "setns back uts")
        os.close(home)


@dataclass
class Network:
    """Hosts on one switch; :meth:`cut` and :meth:`restore` unplug and replug a host's cable."""

    switch: str
    hosts: dict[str, Host]
    ports: dict[str, str]  # host name -> its port (interface) on the switch

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def cut(self, host: Host) -> None:
        _ip("-n", self.switch, "link", "set", "dev", self.ports[host.name], "down")

    def restore(self, host: Host) -> None:
        _ip("-n", self.switch, "link", "set", "dev", self.ports[host.name], "up")


def _owned_namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=60).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(PREFIX)]


def _delete_namespace(name: str) -> None:
    """Kill what still runs inside (it belongs to a test that is over), then delete the namespace."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=60).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=60)


def sweep_abandoned() -> None:
    """Delete the namespaces of tests that died without cleaning up (their owner pid no longer runs)."""
    for name in _owned_namespaces():
        found = re.match(rf"{PREFIX}(\d+)-", name)
        if found and not os.path.exists(f"/proc/{found.group(1)}"):
            _delete_namespace(name)


@contextlib.contextmanager
def network(names: Sequence[str]) -> Iterator[Network]:
    """One host per name on a switch of its own (``10.77.0.10`` and up, in order); all deleted after."""
    sweep_abandoned()
    tag = f"{PREFIX}{os.getpid()}"
    switch = f"{tag}-switch"
    made: list[str] = []
    hosts: dict[str, Host] = {}
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "dev", "br0", "up")
        ports = {}
        for index, name in enumerate(names):
            netns, port = f"{tag}-{name}", f"p{index}"
            _ip("netns", "add", netns)
            made.append(netns)
            _ip("-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns)
            _ip("-n", switch, "link", "set", "dev", port, "master", "br0")
            _ip("-n", switch, "link", "set", "dev", port, "up")
            address = f"{SUBNET}.{10 + index}"
            _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", netns, "link", "set", "dev", "eth0", "up")
            _ip("-n", netns, "link", "set", "dev", "lo", "up")
            hosts[name] = Host(name, address, netns, _new_uts(name))
            ports[name] = port
        yield Network(switch, hosts, ports)
    finally:
        for host in hosts.values():
            if host.uts_fd is not None:
                os.close(host.uts_fd)
        for netns in reversed(made):
            _delete_namespace(netns)


def namespaces_unavailable() -> str | None:
    """Why this machine cannot make the test's hosts (a skip reason), or None when it can."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` not found (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        _ip("netns", "add", probe)
        _ip("-n", probe, "link", "add", "br0", "type", "bridge")
        _ip("-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        _new_uts_fd = _new_uts("probe")
        os.close(_new_uts_fd)
    except OSError as exc:
        return f"cannot make network namespaces here: {exc}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=60)
    return None
