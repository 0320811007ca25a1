"""Webhooks on rollback, promotion, stall (and pre/post-rollout): generic JSON, Slack, PagerDuty, Teams.

Three concerns, kept apart:

- *What to say* is pure: ``message.build_message`` reads the engine's ``Notification`` and
  the status it was recorded in, and ``payloads.outgoing`` shapes it for each kind of
  receiver (``generic``, ``slack``, ``pagerduty``, ``msteams``). Nothing in a payload is a
  link: receivers get facts, not URLs to follow.
- *Whether to send* is the operator's configuration: a URL is checked against the
  allowed prefixes when the delivery is queued and again right before it is sent
  (a Release could otherwise make the operator POST anywhere: request forgery), and the
  URL posted to is exactly the normalised one the check approved (no dot segment or
  encoded character left for the HTTP client or the server to resolve elsewhere).
  Redirects are not followed, for the same reason.
- *Sending* happens on worker threads behind a bounded queue, so a reconcile never waits
  on a slow receiver. Each attempt has connect and read timeouts, failures (connection
  errors, timeouts, 5xx, 429) are retried a bounded number of times with exponential
  back-off, and a full queue drops (and counts) rather than blocks.

Credentials: a webhook's ``secretRef`` names a Secret in the Release's namespace whose
``token`` key is read at send time: sent as ``Authorization: Bearer`` (generic, slack,
msteams), or as the body's ``routing_key`` for PagerDuty.

Idempotency: every message has a key per (Release uid, rollout id, event). The notifier
sends a key to a webhook at most once per process (a retried reconcile that re-emits a
notification is ignored), and the key travels in the payload and in an
``Idempotency-Key`` header, so a receiver can drop duplicates across operator restarts.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import logging
import queue
import random
import threading
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import requests

from ripcord import logs
from ripcord.notify import pagerduty
from ripcord.notify.message import build_message, field
from ripcord.notify.payloads import outgoing
from ripcord.redact import redact

log = logging.getLogger(__name__)

SENT_KEYS_KEPT = 10_000

#: Reads a webhook's bearer token: (namespace, secret name) -> token, or None.
TokenReader = Callable[[str, str], Optional[str]]
#: Whether a URL may be posted to: returns the URL to post to (the normalised form), or
#: another truthy value to post to the URL as given; returns falsy or raises to refuse.
UrlCheck = Callable[[str], Any]
#: (event, webhook type, result) with result in sent, failed, refused, dropped.
ResultHook = Callable[[str, str, str], None]


# ----------------------------------------------------------------------------- sending

@dataclasses.dataclass(frozen=True)
class Delivery:
    """One message to one webhook."""

    webhook: str
    type: str  # generic | slack | pagerduty | msteams
    url: str
    namespace: str
    secret_ref: Optional[str]
    event: str
    key: str
    payload: Mapping[str, Any]
    release: str = ""
    rollout_id: Optional[int] = None
    on_done: Optional[Callable[[], None]] = dataclasses.field(default=None, compare=False, repr=False)


class WebhookNotifier:
    """Queue and send webhook deliveries on worker threads.

    Call it as the reconciler's notifier: ``notifier(body, spec, note, status)``; it returns
    at once with the deliveries it queued. ``start()`` before, ``close()`` on shutdown.
    """

    def __init__(self, *, allowed: UrlCheck, token_reader: Optional[TokenReader] = None,
                 connect_timeout: float = 2.0, read_timeout: float = 5.0, max_attempts: int = 4,
                 backoff: float = 0.5, max_backoff: float = 8.0, workers: int = 2, queue_size: int = 1000,
                 on_result: Optional[ResultHook] = None, session: Optional[requests.Session] = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.allowed, self.token_reader, self.on_result = allowed, token_reader, on_result
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self._session = session or requests.Session()
        self._session.trust_env = False  # no proxies from the environment: the URL is the destination
        self._sleep = sleep
        self._queue: "queue.Queue[Optional[Delivery]]" = queue.Queue(maxsize=queue_size)
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._sent: "collections.OrderedDict[tuple[str, str], None]" = collections.OrderedDict()
        self._lock = threading.Lock()

    # -- the reconcile side: never blocks

    def __call__(self, body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any]) -> list[Delivery]:
        try:
            return self.notify(body, spec, note, status)
        except Exception:  # noqa: BLE001 - a notification must never fail a reconcile
            log.exception("notify: could not queue %s", field(note, "event"))
            return []

    def notify(self, body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any],
               on_done: Optional[Callable[[], None]] = None) -> list[Delivery]:
        """Queue the note's deliveries; ``on_done`` is called once every one of them has a final result
        (sent, failed after its retries, refused, dropped), or at once when no webhook wants it."""
        msg = build_message(body, spec, note, status)
        hooks: Sequence[Any] = field(spec, "notifications") or []
        planned: list[Delivery] = []
        for hook in hooks:
            events = field(hook, "events") or ["rollback", "promotion", "stall"]
            if msg.event not in events:
                continue
            kind = str(field(hook, "type") or "generic")
            for key, payload in outgoing(kind, msg):
                planned.append(Delivery(webhook=str(field(hook, "name")), type=kind, url=str(field(hook, "url")),
                                        namespace=msg.namespace, secret_ref=field(hook, "secret_ref", "secretRef"),
                                        event=msg.event, key=key, payload=payload, release=msg.release,
                                        rollout_id=msg.rollout_id))
        done = _countdown(len(planned), on_done)
        queued = []
        for delivery in planned:
            delivery = dataclasses.replace(delivery, on_done=done)
            if (sent := self._submit(delivery)) is not None:
                queued.append(sent)
        return queued

    def submit(self, delivery: Delivery) -> bool:
        """Queue one delivery unless already sent/queued in this process, refused, or the queue is full."""
        return self._submit(delivery) is not None

    def _submit(self, delivery: Delivery) -> Optional[Delivery]:
        """The delivery as queued (its URL normalised by the check), or None.

        Its ``on_done`` is called once it has a final result, except when the queue is full
        (dropped: the caller's outbox offers it again later)."""
        dedupe = (delivery.webhook + "|" + delivery.url, delivery.key)
        with self._lock:  # check and reserve at once: two racing reconciles queue it once
            duplicate = dedupe in self._sent
            if not duplicate:
                self._sent[dedupe] = None
                while len(self._sent) > SENT_KEYS_KEPT:
                    self._sent.popitem(last=False)
        if duplicate:
            log.debug("notify: %s to %s already sent", delivery.key, delivery.webhook)
            if delivery.on_done is not None:
                delivery.on_done()
            return None
        url = self._allowed(delivery.url)
        if url is None:  # stays reserved: refusing again would only repeat the log
            log.warning("notify: webhook %s: URL not allowed by the operator's configuration; not sent",
                        delivery.webhook)
            self._result(delivery, "refused")
            return None
        delivery = dataclasses.replace(delivery, url=url)
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            with self._lock:
                self._sent.pop(dedupe, None)  # a later reconcile may try again
            log.error("notify: queue full, dropping %s to %s", delivery.key, delivery.webhook)
            self._result(delivery, "dropped")
            return None
        return delivery

    # -- the worker side

    def start(self) -> "WebhookNotifier":
        for i in range(self._workers):
            t = threading.Thread(target=self._work, name=f"ripcord-notify-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery has been handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (within ``timeout``), then stop the workers."""
        self.flush(timeout)
        for _ in self._threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break
        for t in self._threads:
            t.join(timeout=1.0)
        self._threads.clear()

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                with logs.context(namespace=delivery.namespace, release=delivery.release or None,
                                  rollout=delivery.rollout_id):
                    self._result(delivery, self.send(delivery))
            except Exception:  # noqa: BLE001 - a worker must survive anything
                log.exception("notify: delivery crashed")
            finally:
                self._queue.task_done()

    def send(self, d: Delivery) -> str:
        """Deliver with bounded retries; returns sent, failed or refused. Blocking: workers only."""
        url = self._allowed(d.url)
        if url is None:
            log.warning("notify: webhook %s: URL no longer allowed; not sent", d.webhook)
            return "refused"
        headers = {"Content-Type": "application/json", "User-Agent": "ripcord", "Idempotency-Key": d.key}
        payload: Mapping[str, Any] = d.payload
        token: Optional[str] = None
        if d.secret_ref and self.token_reader is not None:
            try:
                token = self.token_reader(d.namespace, d.secret_ref)
            except Exception as e:  # noqa: BLE001
                log.error("notify: webhook %s: cannot read Secret %s/%s: %s", d.webhook, d.namespace,
                          d.secret_ref, redact(f"{type(e).__name__}: {e}")[:300])
                return "failed"
        if d.type == "pagerduty":
            if not token:
                log.error("notify: webhook %s: PagerDuty needs a routing key: the `token` key of the Secret "
                          "named by secretRef (%s)", d.webhook, d.secret_ref or "none given")
                return "failed"
            payload = pagerduty.with_routing_key(payload, token)
        elif token:
            headers["Authorization"] = f"Bearer {token.strip()}"
        for attempt in range(1, self.max_attempts + 1):
            retry_after: Optional[float] = None
            try:
                resp = self._session.post(url, json=payload, headers=headers, timeout=self.timeout,
                                          allow_redirects=False)
                code = resp.status_code
                resp.close()
                if 200 <= code < 300:
                    log.info("notify: %s sent to %s (attempt %d)", d.key, d.webhook, attempt)
                    return "sent"
                if code != 429 and not 500 <= code < 600:
                    log.error("notify: webhook %s answered %d to %s; not retried", d.webhook, code, d.key)
                    return "failed"
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                problem = f"HTTP {code}"
            except requests.RequestException as e:
                problem = type(e).__name__
            if attempt == self.max_attempts:
                log.error("notify: %s to %s failed after %d attempts (%s)", d.key, d.webhook, attempt, problem)
                return "failed"
            delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.8, 1.0)
            if retry_after is not None:
                delay = min(self.max_backoff, max(delay, retry_after))
            log.warning("notify: %s to %s: %s; retry %d in %.1fs", d.key, d.webhook, problem, attempt, delay)
            self._sleep(delay)
        return "failed"  # not reached

    def _allowed(self, url: str) -> Optional[str]:
        """The URL to post to (the check's normalised form), or None to refuse."""
        try:
            verdict = self.allowed(url)
        except Exception:  # noqa: BLE001 - NotAllowed, or a broken check: refuse
            return None
        if isinstance(verdict, str):
            return verdict or None
        return url if verdict else None

    def _result(self, d: Delivery, result: str) -> None:
        if d.on_done is not None and result != "dropped":  # a dropped delivery is queued again later
            try:
                d.on_done()
            except Exception:  # noqa: BLE001
                log.exception("notify: completion hook failed")
        if self.on_result is not None:
            try:
                self.on_result(d.event, d.type, result)
            except Exception:  # noqa: BLE001
                log.exception("notify: result hook failed")


def _countdown(n: int, on_done: Optional[Callable[[], None]]) -> Callable[[], None]:
    """A callable that calls ``on_done`` on its ``n``-th call (at once when ``n`` is 0)."""
    left = [n]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            left[0] -= 1
            fire = left[0] == 0
        if fire and on_done is not None:
            on_done()

    if n == 0 and on_done is not None:
        on_done()
    return tick


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def kube_token_reader(api_client: Any) -> TokenReader:
    """Read the ``token`` key of a Secret in the Release's namespace (RBAC: secrets get)."""
    from kubernetes import client
    core = client.CoreV1Api(api_client)

    def read(namespace: str, name: str) -> Optional[str]:
        secret = core.read_namespaced_secret(name, namespace, _request_timeout=5)
        data = secret.data or {}
        raw = data.get("token")
        return base64.b64decode(raw).decode() if raw else None

    return read
