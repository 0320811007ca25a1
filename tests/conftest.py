"""Shared pytest configuration: the sandbox fixtures (sandbox, kube, operator_kube, namespace)."""

pytest_plugins = ["sandbox.pytest_plugin"]
