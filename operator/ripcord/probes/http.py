"""One HTTP call with a hard deadline: the status, the latency, the first bytes of the body, or why not.

``requests`` bounds each socket operation, not a whole call (a server that trickles its
answer keeps a call going far past its timeout), so every call runs on a bounded pool and
is waited for no longer than its deadline: a call still running then is "no answer
within N s", never a pass. Redirects are not followed (a gate judges the canary's own
answer; a webhook is posted exactly where the allow-list approved), proxies from the
environment are not used, and the body is read only as far as messages show it.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from typing import Mapping, Optional

import requests

from ripcord.engine.calls import Reply
from ripcord.redact import redact

BODY_HEAD_BYTES = 512
#: Grace on top of a call's timeout before the waiting side gives up on it.
SLACK_S = 0.5


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    url: str
    timeout_s: float
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: Optional[bytes] = None


def _why(exc: BaseException, timeout_s: float) -> str:
    """A short reason, without the URL or the client's nested exception text."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"could not connect within {timeout_s:g}s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout_s:g}s"
    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        for needle, words in (("Connection refused", "connection refused"),
                              ("Name or service not known", "host name not resolved"),
                              ("Temporary failure in name resolution", "host name not resolved"),
                              ("No route to host", "no route to host"),
                              ("Connection reset", "connection reset"),
                              ("RemoteDisconnected", "connection closed before an answer")):
            if needle in text:
                return words
        return "connection failed"
    return redact(f"{type(exc).__name__}: {text}")[:200]


def fetch(session: requests.Session, call: Call) -> Reply:
    """Make ``call`` on this thread (each socket operation bounded by its timeout)."""
    start = time.monotonic()
    deadline = start + call.timeout_s
    try:
        resp = session.request(call.method, call.url, headers=dict(call.headers), data=call.body,
                               timeout=(call.timeout_s, call.timeout_s), stream=True, allow_redirects=False)
    except requests.RequestException as exc:
        return Reply(latency_ms=(time.monotonic() - start) * 1000.0, error=_why(exc, call.timeout_s))
    latency_ms = (time.monotonic() - start) * 1000.0
    head = b""
    try:
        for chunk in resp.iter_content(chunk_size=128):
            head += chunk
            if len(head) >= BODY_HEAD_BYTES or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass  # the status came back: that is the answer; the body's head is only shown
    finally:
        resp.close()
    return Reply(status=resp.status_code, latency_ms=latency_ms,
                 body_head=head[:BODY_HEAD_BYTES].decode("utf-8", errors="replace"))


class Caller:
    """Runs calls on a bounded pool; each is waited for at most its timeout plus a little."""

    def __init__(self, workers: int = 8, session: Optional[requests.Session] = None) -> None:
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the URL is the destination
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ripcord-probe")

    def run(self, calls: list[Call]) -> list[Reply]:
        """Every call at once; the replies in the same order, within the longest timeout (plus slack)."""
        if not calls:
            return []
        started = time.monotonic()
        futures = [self.pool.submit(fetch, self.session, c) for c in calls]
        replies = []
        for call, fut in zip(calls, futures):
            left = started + call.timeout_s + SLACK_S - time.monotonic()
            try:
                replies.append(fut.result(timeout=max(0.0, left)))
            except concurrent.futures.TimeoutError:
                fut.cancel()
                replies.append(Reply(latency_ms=(time.monotonic() - started) * 1000.0,
                                     error=f"no answer within {call.timeout_s:g}s"))
            except Exception as exc:  # noqa: BLE001 - a bug in a call is a failed call, never a pass
                replies.append(Reply(error=redact(f"{type(exc).__name__}: {exc}")[:200]))
        return replies

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()
