"""Probe execution (httpGet, tcpSocket, exec) with the pod spec's timing fields."""

from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class ProbeTiming:
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Mapping) -> "ProbeTiming":
        return cls(
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
        )


def resolve_port(port: int | str, named_ports: Mapping[str, int]) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    if port in named_ports:
        return named_ports[port]
    raise ValueError(f"unknown named port {port!r}")


async def _http_get(spec: Mapping, pod_ip: str, named_ports: Mapping[str, int], timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or pod_ip
    port = resolve_port(spec.get("port", 80), named_ports)
    path = spec.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    ctx = None
    if (spec.get("scheme") or "HTTP").upper() == "HTTPS":
        ctx = ssl._create_unverified_context()
    headers = {"Host": f"{host}:{port}", "User-Agent": "kube-probe/1.20", "Accept": "*/*",
               "Connection": "close"}
    for h in spec.get("httpHeaders") or []:
        headers[h["name"]] = h["value"]
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"

    async def go() -> tuple[bool, str]:
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
        try:
            writer.write(request.encode())
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        parts = status_line.decode("latin-1").split()
        if len(parts) < 2 or not parts[1].isdigit():
            return False, f"malformed HTTP response {status_line[:80]!r}"
        code = int(parts[1])
        return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}"

    try:
        return await asyncio.wait_for(go(), timeout)
    except asyncio.TimeoutError:
        return False, f"Get http://{host}:{port}{path}: context deadline exceeded"
    except OSError as e:
        return False, f"Get http://{host}:{port}{path}: {e.strerror or e}"


async def _tcp(spec: Mapping, pod_ip: str, named_ports: Mapping[str, int], timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or pod_ip
    port = resolve_port(spec["port"], named_ports)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
        return True, ""
    except asyncio.TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except OSError as e:
        return False, f"dial tcp {host}:{port}: {e.strerror or e}"


async def _exec(spec: Mapping, env: Mapping[str, str], cwd: str | None, timeout: float) -> tuple[bool, str]:
    command = list(spec.get("command") or [])
    if not command:
        return False, "exec probe without command"
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=dict(env), cwd=cwd, start_new_session=True)
    except OSError as e:
        return False, f"exec failed: {e}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        await proc.wait()
        return False, f"command timed out after {timeout:.0f}s"
    return proc.returncode == 0, out.decode(errors="replace")[-200:]


async def run_probe(probe: Mapping, *, pod_ip: str, named_ports: Mapping[str, int],
                    env: Mapping[str, str], cwd: str | None) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    timeout = ProbeTiming.of(probe).timeout
    try:
        if "httpGet" in probe:
            return await _http_get(probe["httpGet"], pod_ip, named_ports, timeout)
        if "tcpSocket" in probe:
            return await _tcp(probe["tcpSocket"], pod_ip, named_ports, timeout)
        if "exec" in probe:
            return await _exec(probe["exec"], env, cwd, timeout)
    except ValueError as e:
        return False, str(e)
    return False, "probe has no handler (httpGet, tcpSocket, exec)"
