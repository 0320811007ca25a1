"""Notifications: a generic JSON webhook and a Slack-compatible one, sent off the reconcile path."""
from ripcord.notify.webhooks import (Delivery, Message, WebhookNotifier, build_message, generic_payload,
                                     idempotency_key, kube_token_reader, slack_payload)

__all__ = ["Delivery", "Message", "WebhookNotifier", "build_message", "generic_payload", "idempotency_key",
           "kube_token_reader", "slack_payload"]
