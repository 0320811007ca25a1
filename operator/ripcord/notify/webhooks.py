"""Webhooks on rollback, promotion, stall (and pre/post-rollout), generic JSON or Slack.

Three concerns, kept apart:

- *What to say* is pure: ``build_message`` reads the engine's ``Notification`` and the
  status it was recorded in (the rollout's history entry: version, outcome, reason with
  metric/value/bound/weight, timeline), and ``generic_payload`` / ``slack_payload`` shape
  it. Nothing in a payload is a link: receivers get facts, not URLs to follow.
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

Idempotency: every message has a key per (Release uid, rollout id, event). The notifier
sends a key to a webhook at most once per process (a retried reconcile that re-emits a
notification is ignored), and the key travels in the payload and in an
``Idempotency-Key`` header, so a receiver can drop duplicates across operator restarts.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import logging
import queue
import random
import threading
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import requests

from ..redact import redact

log = logging.getLogger(__name__)

TITLES = {
    "rollback": "rolled back", "promotion": "promoted", "stall": "is stalled",
    "pre-rollout": "rollout started", "post-rollout": "rollout finished",
}
SLACK_EMOJI = {"rollback": ":rotating_light:", "promotion": ":white_check_mark:", "stall": ":warning:",
               "pre-rollout": ":arrow_forward:", "post-rollout": ":checkered_flag:"}
TIMELINE_IN_PAYLOAD = 20
SENT_KEYS_KEPT = 10_000

#: Reads a webhook's bearer token: (namespace, secret name) -> token, or None.
TokenReader = Callable[[str, str], Optional[str]]
#: Whether a URL may be posted to: returns the URL to post to (the normalised form), or
#: another truthy value to post to the URL as given; returns falsy or raises to refuse.
UrlCheck = Callable[[str], Any]
#: (event, webhook type, result) with result in sent, failed, refused, dropped.
ResultHook = Callable[[str, str, str], None]


# ----------------------------------------------------------------------------- what to say

@dataclasses.dataclass(frozen=True)
class Reason:
    kind: str
    message: str
    metric: Optional[str] = None
    value: Optional[float] = None
    bound: Optional[str] = None
    weight: Optional[int] = None
    at: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Message:
    """Everything a receiver is told about one notification."""

    event: str
    key: str
    namespace: str
    release: str
    rollout_id: int
    version: str
    stable_version: Optional[str]
    outcome: Optional[str]
    message: str
    reason: Optional[Reason]
    weight_reached: Optional[int]
    started_at: Optional[str]
    ended_at: Optional[str]
    timeline: tuple[Mapping[str, Any], ...]
    at: str
    summary: str


def idempotency_key(namespace: str, name: str, uid: str, rollout_id: int, event: str) -> str:
    """Stable across retries and restarts; the uid tells apart a Release deleted and recreated."""
    return f"{namespace}/{name}/{uid or '-'}/{rollout_id}/{event}"


def _field(obj: Any, name: str, alias: Optional[str] = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(alias or name, obj.get(name))
    return getattr(obj, name, None)


def _summary(event: str, release: str, namespace: str, version: str, stable: Optional[str],
             reason: Optional[Reason], weight: Optional[int], seconds: Optional[float], note: str) -> str:
    head = f"{release} ({namespace}): {version} {TITLES.get(event, event)}"
    parts = [head]
    if event == "rollback" and reason is not None:
        why = reason.message
        if reason.metric and reason.value is not None:
            why = f"{reason.metric} = {reason.value:g}" + (f", bound {reason.bound}" if reason.bound else "")
        at = f" at {reason.weight}% of traffic" if reason.weight is not None else ""
        after = f" after {seconds:.0f}s" if seconds is not None else ""
        parts.append(f"{reason.kind}{at}{after}: {why}")
    elif note:
        parts.append(note)
    elif weight is not None:
        parts.append(f"reached {weight}%")
    if stable and event in ("rollback", "stall"):
        parts.append(f"{stable} serves the traffic")
    return ". ".join(parts) + "."


def _seconds(a: Optional[str], b: Optional[str]) -> Optional[float]:
    try:
        if not a or not b:
            return None
        ta = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
        tb = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
        return max(0.0, (tb - ta).total_seconds())
    except ValueError:
        return None


def build_message(body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any],
                  now: Optional[dt.datetime] = None) -> Message:
    """The message for the engine's ``note`` (event, rollout_id, message) as ``status`` records it."""
    meta = body.get("metadata") or {}
    namespace, name, uid = meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")
    event, rid, text = str(_field(note, "event")), int(_field(note, "rollout_id", "rolloutId")), \
        str(_field(note, "message") or "")
    entry: Mapping[str, Any] = next((h for h in status.get("history") or []
                                     if isinstance(h, Mapping) and h.get("id") == rid), {})
    rollout = status.get("rollout") if isinstance(status.get("rollout"), Mapping) else {}
    raw_reason = entry.get("reason") or (rollout.get("reason") if rollout and rollout.get("id") == rid else None)
    reason = None
    if isinstance(raw_reason, Mapping):
        reason = Reason(kind=str(raw_reason.get("kind", "")), message=str(raw_reason.get("message", "")),
                        metric=raw_reason.get("metric"), value=raw_reason.get("value"),
                        bound=raw_reason.get("bound"), weight=raw_reason.get("weight"), at=raw_reason.get("at"))
    version = str(entry.get("version") or _field(spec, "version") or "")
    stable = status.get("stable") if isinstance(status.get("stable"), Mapping) else {}
    stable_version = stable.get("version") if stable else None
    started = entry.get("startedAt")
    ended = entry.get("endedAt")
    timeline = tuple(t for t in (entry.get("timeline") or [])[-TIMELINE_IN_PAYLOAD:] if isinstance(t, Mapping))
    weight = entry.get("weightReached")
    now = now or dt.datetime.now(dt.timezone.utc)
    seconds = _seconds(started, reason.at if reason else ended)
    return Message(
        event=event, key=idempotency_key(namespace, name, uid, rid, event), namespace=namespace, release=name,
        rollout_id=rid, version=version, stable_version=stable_version, outcome=entry.get("outcome"),
        message=text, reason=reason, weight_reached=weight, started_at=started, ended_at=ended,
        timeline=timeline, at=now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=_summary(event, name, namespace, version, stable_version, reason, weight, seconds, text))


def generic_payload(msg: Message) -> dict[str, Any]:
    """The generic JSON body (documented in docs/install.md)."""
    return {
        "source": "ripcord",
        "event": msg.event,
        "idempotencyKey": msg.key,
        "namespace": msg.namespace,
        "release": msg.release,
        "rolloutId": msg.rollout_id,
        "version": msg.version,
        "stableVersion": msg.stable_version,
        "outcome": msg.outcome,
        "message": msg.message,
        "reason": None if msg.reason is None else {k: v for k, v in dataclasses.asdict(msg.reason).items()},
        "weightReached": msg.weight_reached,
        "startedAt": msg.started_at,
        "endedAt": msg.ended_at,
        "timeline": [dict(t) for t in msg.timeline],
        "summary": msg.summary,
        "at": msg.at,
    }


def _slack_escape(text: Any) -> str:
    """Slack mrkdwn control characters; also keeps a version string from smuggling in a <link|...>."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def slack_payload(msg: Message) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the fallback, notifications) plus Block Kit ``blocks``."""
    title = f"{SLACK_EMOJI.get(msg.event, '')} {msg.release}: {msg.version} {TITLES.get(msg.event, msg.event)}".strip()
    fields = [f"*Release*\n{msg.namespace}/{msg.release}", f"*Version*\n{msg.version}"]
    if msg.stable_version:
        fields.append(f"*Stable*\n{msg.stable_version}")
    if msg.outcome:
        fields.append(f"*Outcome*\n{msg.outcome}")
    if msg.reason is not None:
        fields.append(f"*Reason*\n{msg.reason.kind}")
        if msg.reason.metric:
            fields.append(f"*Metric*\n{msg.reason.metric}")
        if msg.reason.value is not None:
            fields.append(f"*Value*\n{msg.reason.value:g}" + (f" (bound {msg.reason.bound})" if msg.reason.bound else ""))
        if msg.reason.weight is not None:
            fields.append(f"*Weight*\n{msg.reason.weight}%")
    lines = [f"`{t.get('at', '')}` {t.get('event', '')}" + (f" @{t['weight']}%" if t.get("weight") is not None else "")
             + (f" — {t.get('message')}" if t.get("message") else "") for t in msg.timeline[-8:]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_slack_escape(msg.summary), 3000)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _cut(_slack_escape(f), 2000)} for f in fields[:10]]},
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _cut(_slack_escape("\n".join(lines)), 3000)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": _cut(_slack_escape(f"rollout {msg.rollout_id} · key {msg.key} · {msg.at}"), 3000)}]})
    return {"text": _cut(_slack_escape(msg.summary), 3000), "blocks": blocks}


# ----------------------------------------------------------------------------- sending

@dataclasses.dataclass(frozen=True)
class Delivery:
    """One message to one webhook."""

    webhook: str
    type: str  # generic | slack
    url: str
    namespace: str
    secret_ref: Optional[str]
    event: str
    key: str
    payload: Mapping[str, Any]


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
            log.exception("notify: could not queue %s", _field(note, "event"))
            return []

    def notify(self, body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any]) -> list[Delivery]:
        msg = build_message(body, spec, note, status)
        hooks: Sequence[Any] = _field(spec, "notifications") or []
        queued = []
        for hook in hooks:
            events = _field(hook, "events") or ["rollback", "promotion", "stall"]
            if msg.event not in events:
                continue
            kind = str(_field(hook, "type") or "generic")
            delivery = Delivery(webhook=str(_field(hook, "name")), type=kind, url=str(_field(hook, "url")),
                                namespace=msg.namespace, secret_ref=_field(hook, "secret_ref", "secretRef"),
                                event=msg.event, key=msg.key,
                                payload=slack_payload(msg) if kind == "slack" else generic_payload(msg))
            if (sent := self._submit(delivery)) is not None:
                queued.append(sent)
        return queued

    def submit(self, delivery: Delivery) -> bool:
        """Queue one delivery unless already sent/queued in this process, refused, or the queue is full."""
        return self._submit(delivery) is not None

    def _submit(self, delivery: Delivery) -> Optional[Delivery]:
        """The delivery as queued (its URL normalised by the check), or None."""
        dedupe = (delivery.webhook + "|" + delivery.url, delivery.key)
        with self._lock:  # check and reserve at once: two racing reconciles queue it once
            if dedupe in self._sent:
                log.debug("notify: %s to %s already sent", delivery.key, delivery.webhook)
                return None
            self._sent[dedupe] = None
            while len(self._sent) > SENT_KEYS_KEPT:
                self._sent.popitem(last=False)
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
        if d.secret_ref and self.token_reader is not None:
            try:
                token = self.token_reader(d.namespace, d.secret_ref)
            except Exception as e:  # noqa: BLE001
                log.error("notify: webhook %s: cannot read Secret %s/%s: %s", d.webhook, d.namespace,
                          d.secret_ref, redact(f"{type(e).__name__}: {e}")[:300])
                return "failed"
            if token:
                headers["Authorization"] = f"Bearer {token.strip()}"
        for attempt in range(1, self.max_attempts + 1):
            retry_after: Optional[float] = None
            try:
                resp = self._session.post(url, json=d.payload, headers=headers, timeout=self.timeout,
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
        if self.on_result is not None:
            try:
                self.on_result(d.event, d.type, result)
            except Exception:  # noqa: BLE001
                log.exception("notify: result hook failed")


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
