"""Running the reconciler: when each Release is reconciled (the scheduler), under Kopf."""
