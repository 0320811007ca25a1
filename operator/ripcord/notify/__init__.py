"""Notifications: generic JSON, Slack, PagerDuty (Events API v2) and Microsoft Teams, sent off the reconcile path."""
from ripcord.notify.message import Message, build_message, idempotency_key
from ripcord.notify.msteams import payload as msteams_payload
from ripcord.notify.pagerduty import events as pagerduty_events
from ripcord.notify.payloads import generic_payload, outgoing, slack_payload
from ripcord.notify.webhooks import Delivery, WebhookNotifier, kube_token_reader

__all__ = ["Delivery", "Message", "WebhookNotifier", "build_message", "generic_payload", "idempotency_key",
           "kube_token_reader", "msteams_payload", "outgoing", "pagerduty_events", "slack_payload"]
