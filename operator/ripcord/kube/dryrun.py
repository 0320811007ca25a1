"""Would the API server take this pod template? A server-side dry run, once per template hash.

The answer is the API server's own validation and admission (quotas, policies), without
creating anything. It is remembered per (namespace, release, template hash), so a template
costs one request when it first appears, not one per reconcile.
"""
from __future__ import annotations

import collections
import json
import threading
from typing import Any, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.contract import SlotIntent
from ripcord.kube.client import send
from ripcord.kube.objects import deployment_body

KEPT = 4096


def api_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (ValueError, TypeError, AttributeError):
        return str(exc.reason)


class TemplateChecker:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._answers: "collections.OrderedDict[tuple[str, str, str], Optional[str]]" = collections.OrderedDict()

    def check(self, namespace: str, release: str, slot: str, template: Mapping[str, Any], template_hash: str,
              version: str) -> Optional[str]:
        """None when the API server would create the Deployment, else its refusal in its own words."""
        key = (namespace, release, template_hash)
        with self._lock:
            if key in self._answers:
                return self._answers[key]
        intent = SlotIntent(slot=slot, replicas=1, template=template, template_hash=template_hash, version=version)
        body = deployment_body(namespace, release, intent, {})
        body["metadata"]["name"] = f"{release}-dry-run"
        body["metadata"].pop("ownerReferences")
        answer: Optional[str] = None
        try:
            send(self.api, "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body, query=[("dryRun", "All")])
        except ApiException as exc:
            if exc.status in (400, 422):
                answer = api_message(exc)
            elif exc.status != 409:
                raise  # not an answer about the template: ask again next time
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > KEPT:
                self._answers.popitem(last=False)
        return answer
