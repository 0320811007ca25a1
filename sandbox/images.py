"""The kubelet stand-in's image table: which local command an image runs.

``ripcord/demo-app:<version>`` runs the demo app at that version. ``ripcord/sandbox-test:<tag>``
is a tiny HTTP server for the sandbox's own tests (``sandbox.testimage``).
``ripcord/virtual-app:<version>`` runs no process at all: the kubelet stand-in plays the
demo app at that version itself (``sandbox.kubelet.virtual``). Any other image is
unknown: the pod stays ``Waiting`` with reason ``ErrImagePull``, as a failed pull would.

A container's ``command`` replaces the image's entrypoint and its ``args`` are appended,
as with a container runtime (demo app: ``--host``/``--port``/``--version`` are part of the
entrypoint, so ``args`` add to them).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ImageContext:
    """What an entrypoint may depend on."""

    pod_ip: str
    port: int  # the container's first containerPort, or the image's default


@dataclass(frozen=True)
class Image:
    repository: str
    default_port: int
    entrypoint: Callable[[str, ImageContext], list[str]]  # (tag, ctx) -> argv
    virtual: bool = False  # no process: the kubelet stand-in plays the container itself


def _demo_app(tag: str, ctx: ImageContext) -> list[str]:
    return [sys.executable, "-m", "sandbox.demoapp", "--host", ctx.pod_ip, "--port", str(ctx.port),
            "--version", tag]


def _test_image(tag: str, ctx: ImageContext) -> list[str]:
    return [sys.executable, "-m", "sandbox.testimage", "--host", ctx.pod_ip, "--port", str(ctx.port),
            "--version", tag]


IMAGES: dict[str, Image] = {
    "ripcord/demo-app": Image("ripcord/demo-app", 8080, _demo_app),
    "ripcord/sandbox-test": Image("ripcord/sandbox-test", 8080, _test_image),
    "ripcord/virtual-app": Image("ripcord/virtual-app", 8080, lambda tag, ctx: [], virtual=True),
}


def split_image(image: str) -> tuple[str, str]:
    """``docker.io/ripcord/demo-app:1.0.0`` -> (``ripcord/demo-app``, ``1.0.0``)."""
    name, _, digestless = image.partition("@")
    repo, tag = name, "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        repo, tag = name.rsplit(":", 1)
    for prefix in ("docker.io/library/", "docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
    return repo, tag


def lookup(image: str) -> tuple[Image, str] | None:
    repo, tag = split_image(image)
    entry = IMAGES.get(repo)
    return (entry, tag) if entry else None


def is_virtual(image: str) -> bool:
    found = lookup(image)
    return found is not None and found[0].virtual


def resolve(image: str, command: list[str] | None, args: list[str] | None, ctx: ImageContext) -> list[str] | None:
    """The argv to run, or None for an image the sandbox does not know."""
    found = lookup(image)
    if found is None:
        return None
    entry, tag = found
    base = list(command) if command else entry.entrypoint(tag, ctx)
    return base + list(args or [])
