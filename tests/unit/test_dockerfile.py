"""The Dockerfile against the project layout: no container runtime here, so CI cannot build
the image; this checks what a build would rely on."""
from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "cargo", "rustc", "git")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += (" " if pending else "") + line.rstrip("\\").strip()
        if line.endswith("\\"):
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def dockerignore() -> list[str]:
    return [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()
            if l.strip() and not l.strip().startswith("#")]


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    result = False
    for pattern in dockerignore():
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.replace("**/", "")) \
                or path.startswith(pat + "/"):
            result = not negate
    return result


def test_multi_stage_with_a_slim_final_image() -> None:
    st = stages()
    assert len(st) >= 2, "build in one stage, run in another"
    final_from = st[-1][0][1]
    args = dict(a[1].split("=", 1) for a in instructions() if a[0] == "ARG" and "=" in a[1])
    image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], final_from.split(" AS ")[0].strip())
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", image), image
    minor = int(image.split(":")[1].split("-")[0].split(".")[1])
    required = pyproject()["project"]["requires-python"]
    assert minor >= int(re.search(r">=\s*3\.(\d+)", required).group(1)), (image, required)


def test_every_copy_source_exists_and_is_not_ignored() -> None:
    copies = [(i, rest) for i, st in enumerate(stages()) for word, rest in st if word in ("COPY", "ADD")]
    assert copies
    for stage, rest in copies:
        parts = rest.split()
        assert not any(p.startswith("http") for p in parts), "no downloads through ADD/COPY"
        if any(p.startswith("--from=") for p in parts):
            continue
        sources = [p for p in parts if not p.startswith("--")][:-1]
        for src in sources:
            path = src.rstrip("/")
            assert (ROOT / path).exists(), f"COPY {src}: missing from the repository"
            assert not ignored(path), f"COPY {src}: excluded by .dockerignore"


def test_the_copied_files_are_enough_to_build_the_package() -> None:
    """The builder copies pyproject.toml and operator/: the package must live there."""
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    assert "operator" in find["where"]
    assert (ROOT / "operator" / "ripcord" / "__init__.py").exists()
    assert (ROOT / "operator" / "ripcord" / "cli" / "main.py").exists()


def test_runs_as_numeric_non_root_user() -> None:
    users = [rest for word, rest in stages()[-1] if word == "USER"]
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, users[-1]
    assert not gid or (gid.isdigit() and int(gid) != 0), users[-1]
    deployment = yaml.safe_load((ROOT / "manifests" / "operator" / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_entrypoint_is_the_operators_console_script() -> None:
    entry = [rest for word, rest in stages()[-1] if word == "ENTRYPOINT"]
    assert entry, "the final stage must set ENTRYPOINT"
    argv = json.loads(entry[-1])  # exec form: signals reach Python, not a shell
    scripts = pyproject()["project"]["scripts"]
    assert Path(argv[0]).name in scripts, argv
    assert scripts[Path(argv[0]).name] == "ripcord.cli.main:main"
    assert argv[1:] == ["run"]
    main = pytest.importorskip("ripcord.cli.main")
    if hasattr(main, "_parser"):
        assert main._parser().parse_args(["run"]).command == "run"


def test_final_stage_has_no_build_tools_and_writes_only_to_tmp() -> None:
    final = stages()[-1]
    for word, rest in final:
        if word == "RUN":
            assert "pip install" not in rest, "install in the builder, copy the result"
            for tool in BUILD_TOOLS:
                assert not re.search(rf"(apt-get|apt) install[^&;]*\b{re.escape(tool)}\b", rest), tool
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "HOME=/tmp" in env and "TMPDIR=/tmp" in env and "PYTHONDONTWRITEBYTECODE=1" in env
    workdirs = [rest for word, rest in final if word == "WORKDIR"]
    assert workdirs[-1] == "/tmp"


def test_image_name_agrees_with_the_deployment_and_make() -> None:
    version = pyproject()["project"]["version"]
    deployment = yaml.safe_load((ROOT / "manifests" / "operator" / "deployment.yaml").read_text())
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ripcord/operator:{version}"
    make = (ROOT / "mk" / "image.mk").read_text()
    assert re.search(r"^IMAGE \?= ripcord/operator$", make, re.M)


def test_dockerignore_keeps_the_context_small() -> None:
    for path in (".venv", ".git", "tests", "sandbox", "docs", "bench"):
        assert ignored(path), f"{path} would be sent to the build"
    assert not ignored("operator") and not ignored("pyproject.toml")


def test_license_file_matches_the_image_label_and_the_package() -> None:
    label = re.search(r'org\.opencontainers\.image\.licenses="([^"]+)"', (ROOT / "Dockerfile").read_text())
    assert label is not None
    assert label.group(1) == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": label.group(1)}
