"""Loopback pod addresses: 127.100.0.1 - 127.100.255.254 (by default), handed out round-robin.

All of 127.0.0.0/8 reaches the loopback interface on Linux, so no interface setup is
needed. Round-robin (rather than lowest-free) keeps a just-freed address from being
reused at once, so scrapes and clients of an old pod do not reach a new one.
"""

from __future__ import annotations

import ipaddress

from ..layout import POD_NET_OCTET

FIRST = int(ipaddress.IPv4Address(f"127.{POD_NET_OCTET}.0.1"))
LAST = int(ipaddress.IPv4Address(f"127.{POD_NET_OCTET}.255.254"))


class Ipam:
    def __init__(self) -> None:
        self.by_uid: dict[str, str] = {}
        self._used: set[int] = set()
        self._next = FIRST

    def allocate(self, uid: str, preferred: str | None = None) -> str:
        if uid in self.by_uid:
            return self.by_uid[uid]
        if preferred:
            try:
                n = int(ipaddress.IPv4Address(preferred))
            except ValueError:
                n = 0
            if FIRST <= n <= LAST and n not in self._used:
                return self._take(uid, n)
        for _ in range(LAST - FIRST + 1):
            n = self._next
            self._next = FIRST if n >= LAST else n + 1
            if n not in self._used and n & 0xFF not in (0, 255):
                return self._take(uid, n)
        raise RuntimeError("no free loopback pod address")

    def _take(self, uid: str, n: int) -> str:
        self._used.add(n)
        ip = str(ipaddress.IPv4Address(n))
        self.by_uid[uid] = ip
        return ip

    def release(self, uid: str) -> None:
        ip = self.by_uid.pop(uid, None)
        if ip:
            self._used.discard(int(ipaddress.IPv4Address(ip)))
