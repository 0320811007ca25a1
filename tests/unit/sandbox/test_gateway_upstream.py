"""The gateway's upstream HTTP client against a scripted loopback server."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sandbox.gateway.upstream import ConnectFailed, Pool

HOST = "127.0.0.1"

ANSWERS = {
    "/len": b"HTTP/1.1 200 OK\r\nX-App-Version: 1.0.0\r\nContent-Length: 5\r\n\r\nhello",
    "/chunked": b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n",
    "/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "/eof": b"HTTP/1.0 200 OK\r\nX-App-Version: 2.0.0\r\n\r\nuntil the end",
    "/nocontent": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    "/garbage": b"SPAM\r\n\r\n",
    "/reset": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
}


class Scripted:
    """Answers by path; counts connections; ``/hang`` never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.closed_by_client = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                if path == "/hang":
                    if await reader.read(1) == b"":
                        self.closed_by_client.set()
                    return
                writer.write(ANSWERS[path])
                await writer.drain()
                if path in ("/close", "/eof", "/garbage", "/reset"):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


async def with_server(fn):
    srv = Scripted()
    server = await asyncio.start_server(srv.handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    pool = Pool()
    try:
        return await fn(pool, port, srv)
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


def run(fn):
    return asyncio.run(asyncio.wait_for(with_server(fn), 20))


def test_response_framings_and_keepalive() -> None:
    async def go(pool: Pool, port: int, srv: Scripted):
        out = {}
        for path in ("/len", "/len", "/chunked", "/nocontent", "/continue", "/len"):
            out[path] = await pool.get(HOST, port, path, 2.0)
        kept = srv.connections
        for path in ("/close", "/eof"):
            out[path] = await pool.get(HOST, port, path, 2.0)
        return out, kept, srv.connections

    out, kept, total = run(go)
    assert (out["/len"].status, out["/len"].version, out["/len"].body_bytes) == (200, "1.0.0", 5)
    assert (out["/chunked"].status, out["/chunked"].body_bytes) == (500, 7)
    assert out["/nocontent"].status == 204 and out["/continue"].status == 201
    assert (out["/eof"].status, out["/eof"].version, out["/eof"].body_bytes) == (200, "2.0.0", 13)
    assert kept == 1  # one connection served all keep-alive requests
    assert total == 2  # /close and /eof: the first reused, the second opened anew


def test_failures_are_connection_errors() -> None:
    async def go(pool: Pool, port: int, srv: Scripted):
        errors = []
        for path in ("/garbage", "/reset"):  # connected, then a bad or cut answer: Envoy's UC
            with pytest.raises(ConnectionError) as e:
                await pool.get(HOST, port, path, 2.0)
            assert not isinstance(e.value, ConnectFailed), path
            errors.append(str(e.value))
        with socket.socket() as s:
            s.bind((HOST, 0))
            closed = s.getsockname()[1]
        with pytest.raises(ConnectFailed):  # refused: no connection at all, Envoy's UF
            await pool.get(HOST, closed, "/len", 2.0)
        return errors

    assert len(run(go)) == 2


def test_timeout_closes_the_connection() -> None:
    async def go(pool: Pool, port: int, srv: Scripted):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(TimeoutError):
            await pool.get(HOST, port, "/hang", 0.2)
        elapsed = loop.time() - t0
        await asyncio.wait_for(srv.closed_by_client.wait(), 5)  # the upstream saw its client leave
        return elapsed, pool.idle_count()

    elapsed, idle = run(go)
    assert 0.15 < elapsed < 1.5 and idle == 0
