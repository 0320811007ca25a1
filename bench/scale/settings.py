"""What ``make bench-scale`` runs, from the environment (pure).

``BENCH_SCALE``            ``full`` (default): 100, 300 and 1,000 Releases at rest, the last
                           with 100 rolling out at once; ``small``: 100 at rest + 10 rolling.
``BENCH_SCALE_CONFIGS``    an explicit list instead, e.g. ``100+10,300+10``: N at rest + M rolling
``BENCH_SCALE_WINDOW_S``   length of each counting window (default 60)
``BENCH_SCALE_BAD_EVERY``  every k-th rolling Release gets the bad version 2.0.0 (default 5)
``BENCH_SCALE_ROLLOUT_TIMEOUT_S``  how long M rollouts may take before the unfinished ones count as
                           failed (default 900)
``BENCH_SCALE_NAMESPACES`` how many namespaces the Releases are spread over (default 10)
``BENCH_SCALE_KEEP``       ``1``: leave the Releases and namespaces in place at the end
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

SMALL = "100+10"
FULL = "100+10,300+10,1000+100"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, order=True)
class Configuration:
    """``at_rest`` Releases stay at rest while ``rolling`` more roll out at once."""

    at_rest: int
    rolling: int

    @property
    def releases(self) -> int:
        return self.at_rest + self.rolling

    def __str__(self) -> str:
        return f"{self.at_rest}+{self.rolling}"


@dataclass(frozen=True)
class Settings:
    configurations: tuple[Configuration, ...]
    window_s: float = 60.0
    bad_every: int = 5
    rollout_timeout_s: float = 900.0
    namespaces: int = 10
    keep: bool = False

    @property
    def largest(self) -> Configuration:
        return max(self.configurations, key=lambda c: (c.releases, c.rolling))


def parse_configurations(text: str, where: str = "BENCH_SCALE_CONFIGS") -> tuple[Configuration, ...]:
    out = []
    for item in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(\d+)\s*\+\s*(\d+)", item)
        if not m:
            raise SettingsError(f"{where}: {item!r} is not N+M (Releases at rest + Releases rolling out)")
        config = Configuration(int(m.group(1)), int(m.group(2)))
        if config.releases == 0:
            raise SettingsError(f"{where}: {item!r} has no Release")
        out.append(config)
    # Releases are only ever added: run the configurations from the smallest population up.
    return tuple(sorted(out, key=lambda c: (c.releases, c.rolling)))


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def from_env(env: Mapping[str, str]) -> Settings:
    mode = env.get("BENCH_SCALE", "").strip() or "full"
    if mode not in ("small", "full"):
        raise SettingsError(f"BENCH_SCALE={mode!r}: expected small or full")
    explicit = env.get("BENCH_SCALE_CONFIGS", "").strip()
    configs = parse_configurations(explicit) if explicit else parse_configurations(SMALL if mode == "small" else FULL)
    return Settings(
        configurations=configs,
        window_s=_number(env, "BENCH_SCALE_WINDOW_S", 60.0, 10.0),
        bad_every=int(_number(env, "BENCH_SCALE_BAD_EVERY", 5, 1)),
        rollout_timeout_s=_number(env, "BENCH_SCALE_ROLLOUT_TIMEOUT_S", 900.0, 60.0),
        namespaces=int(_number(env, "BENCH_SCALE_NAMESPACES", 10, 1)),
        keep=env.get("BENCH_SCALE_KEEP", "").strip() in ("1", "true", "yes"),
    )
