"""One container of a pod: a local process with restarts, back-off and probes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

import aiohttp

from .. import images, proc
from . import virtual
from .api import ApiError
from .envs import EnvError, container_env, expand
from .probes import ProbeTiming, run_probe

if TYPE_CHECKING:
    from .pod import PodWorker

log = logging.getLogger(__name__)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ContainerRunner:
    """Runs one container spec until stopped, honouring the pod's restart policy."""

    def __init__(self, pod: "PodWorker", spec: dict, restart_count: int = 0) -> None:
        self.pod = pod
        self.spec = spec
        self.name: str = spec["name"]
        self.state: dict = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: dict = {}
        self.ready = False
        self.started = False
        self.ever_started = False
        self.finished = False  # terminated and not going to be restarted
        self.restart_count = restart_count
        self.container_id = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._env: dict[str, str] = {}
        self._started_mono = 0.0
        self._stop = asyncio.Event()
        self._grace = 30.0
        self.exited = asyncio.Event()  # set whenever the current process instance ends
        self._kill_task: asyncio.Task | None = None
        self._events_sent: dict[str, float] = {}  # Unhealthy event text -> when last sent

    # --- reporting --------------------------------------------------------------------

    def status(self) -> dict:
        st = {
            "name": self.name, "image": self.spec.get("image", ""),
            "imageID": f"sandbox://{self.spec.get('image', '')}",
            "ready": self.ready, "started": self.started, "restartCount": self.restart_count,
            "state": self.state, "lastState": self.last_state,
        }
        if self.container_id:
            st["containerID"] = self.container_id
        return st

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def virtual(self) -> bool:
        """No process: the kubelet plays the app (``ripcord/virtual-app``, sandbox.kubelet.virtual)."""
        return images.is_virtual(self.spec.get("image", ""))

    @property
    def log_path(self) -> Path:
        return self.pod.dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.pod.kubelet.pid_dir / f"{self.pod.uid}_{self.name}.pid"

    def _set(self, **kw: object) -> None:
        for k, v in kw.items():
            setattr(self, k, v)
        self.pod.changed()

    # --- lifecycle --------------------------------------------------------------------

    async def stop(self, grace: float) -> None:
        """Stop for good: SIGTERM, SIGKILL after ``grace`` seconds."""
        self._grace = grace
        self._stop.set()
        await self._kill(grace)

    async def _kill(self, grace: float) -> None:
        p = self._proc
        if p is None or p.returncode is not None:
            return
        _signal_group(p.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(p.wait()), grace)
        except asyncio.TimeoutError:
            _signal_group(p.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(asyncio.shield(p.wait()), 10)
            except asyncio.TimeoutError:
                log.error("container %s/%s pid %s survived SIGKILL", self.pod.key, self.name, p.pid)

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep; True if a stop was requested meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            await self._kill(2)
            raise
        except Exception:
            log.exception("container %s/%s crashed the runner", self.pod.key, self.name)
            await self._kill(2)

    async def _run(self) -> None:
        kubelet = self.pod.kubelet
        consecutive_failures = 0
        first = True
        while not self._stop.is_set():
            ctx = images.ImageContext(self.pod.ip, self._port())
            argv = images.resolve(self.spec.get("image", ""), self.spec.get("command"), self.spec.get("args"), ctx)
            if argv is None:
                msg = (f'Failed to pull image "{self.spec.get("image")}": the sandbox knows no such image '
                       f"(see sandbox/images.py)")
                self._set(state={"waiting": {"reason": "ErrImagePull", "message": msg}})
                self.pod.event("Failed", msg, warning=True)
                await self._stop.wait()
                return
            try:
                env = await container_env(kubelet.api, self.pod.pod, self.spec, self.pod.ip)
            except EnvError as e:
                self._set(state={"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}})
                self.pod.event("Failed", f"Error: {e}", warning=True)
                if await self._sleep_or_stop(5):
                    return
                continue
            except (ApiError, aiohttp.ClientError, asyncio.TimeoutError) as e:
                log.warning("env for %s/%s: %s", self.pod.key, self.name, e)
                if await self._sleep_or_stop(2):
                    return
                continue
            argv = [expand(a, env) for a in argv]
            if not first:
                self.restart_count += 1
            first = False
            if self.virtual:
                exit_code, reason, started_at = await self._run_virtual_once(env)
            else:
                exit_code, reason, started_at = await self._run_once(argv, env)
            finished_at = now()
            ran = time.monotonic() - self._started_mono
            self.last_state = {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started_at,
                                              "finishedAt": finished_at, "containerID": self.container_id}}
            if self._stop.is_set():
                self._set(state=self.last_state, last_state={}, ready=False, finished=True)
                return
            policy = self.pod.restart_policy
            if policy == "Never" or (policy == "OnFailure" and exit_code == 0):
                self._set(state=self.last_state, last_state={}, ready=False, finished=True)
                return
            if ran > kubelet.backoff_max:
                consecutive_failures = 0
            consecutive_failures += 1
            delay = 0.0 if consecutive_failures == 1 else min(
                kubelet.backoff_base * 2 ** (consecutive_failures - 2), kubelet.backoff_max)
            if delay > 0:
                msg = f"back-off {delay:g}s restarting failed container={self.name} pod={self.pod.key}"
                self._set(state={"waiting": {"reason": "CrashLoopBackOff", "message": msg}}, ready=False)
                self.pod.event("BackOff", f"Back-off restarting failed container {self.name}", warning=True)
                if await self._sleep_or_stop(delay):
                    self._set(finished=True)
                    return
            else:
                self._set(state=self.last_state, ready=False)

    def _port(self) -> int:
        ports = self.spec.get("ports") or []
        if ports and ports[0].get("containerPort"):
            return int(ports[0]["containerPort"])
        found = images.lookup(self.spec.get("image", ""))
        return found[0].default_port if found else 8080

    async def _run_once(self, argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        """Start the process and wait for it to end; (exit code, reason, startedAt)."""
        log_path = self.log_path
        if log_path.exists():
            log_path.replace(log_path.with_name(f"{self.name}.previous.log"))
        started_at = now()
        self._started_mono = time.monotonic()
        self.exited.clear()
        cwd = self.spec.get("workingDir") or str(self.pod.dir)
        try:
            with open(log_path, "ab") as out:
                p = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                    env=env, cwd=cwd, start_new_session=True)
        except OSError as e:
            with open(log_path, "a") as out:
                out.write(f"sandbox kubelet: cannot start {argv!r}: {e}\n")
            self.exited.set()
            self.pod.event("Failed", f"Error: failed to start container {self.name}: {e}", warning=True)
            return 128, "StartError", started_at
        self._proc, self._env = p, env
        self.container_id = f"sandbox://{self.pod.uid}/{self.name}/{p.pid}"
        proc.write_pid(self.pid_file, p.pid)
        has_startup = bool(self.spec.get("startupProbe"))
        self.ever_started = True
        self._set(state={"running": {"startedAt": started_at}}, started=not has_startup,
                  ready=not has_startup and not self.spec.get("readinessProbe"))
        self.pod.event("Started", f"Started container {self.name}")
        probes = asyncio.create_task(self._probes())
        try:
            rc = await p.wait()
        finally:
            probes.cancel()
            self.pid_file.unlink(missing_ok=True)
            self.exited.set()
        code = 128 - rc if rc < 0 else rc  # killed by signal N -> 128+N
        self._set(ready=False, started=False)
        return code, "Completed" if code == 0 else "Error", started_at

    async def _run_virtual_once(self, env: dict[str, str]) -> tuple[int, str, str]:
        """Play the app without a process until stopped or crashed; (exit code, reason, startedAt)."""
        log_path = self.log_path
        if log_path.exists():
            log_path.replace(log_path.with_name(f"{self.name}.previous.log"))
        started_at = now()
        self._started_mono = time.monotonic()
        self.exited.clear()
        _, version = images.split_image(self.spec.get("image", ""))
        self.container_id = f"sandbox://{self.pod.uid}/{self.name}/virtual-{self.restart_count}"
        try:
            knobs = virtual.VirtualKnobs.from_env(env)
        except virtual.KnobError as e:
            log_path.write_text(f"{e}\n")
            self.exited.set()
            self.ever_started = True
            return 1, "Error", started_at
        registry = self.pod.kubelet.virtual
        registry.add(self.container_id, self.pod.virtual_target,
                     virtual.VirtualApp.start(version, knobs, self._started_mono))
        started_in = virtual.started_after(self.spec)
        ready_in = virtual.ready_after(self.spec, knobs.app)
        log_path.write_text(f"virtual-app {version}: no process; {knobs.request_rate:g} requests/s synthesised\n")
        self.ever_started = True
        self._set(state={"running": {"startedAt": started_at}}, started=started_in <= 0, ready=ready_in == 0)
        self.pod.event("Started", f"Started container {self.name}")
        probes = asyncio.create_task(self._virtual_probes(started_in, ready_in))
        try:
            crash_after = knobs.app.crash_after_s
            stopped = await self._sleep_or_stop(crash_after) if crash_after > 0 else await self._stop.wait()
        finally:
            probes.cancel()
            registry.remove(self.container_id)
            self.exited.set()
        self._set(ready=False, started=False)
        if stopped:
            return 0, "Completed", started_at
        with open(log_path, "a") as out:
            out.write(f"virtual-app {version}: crashing after {crash_after:g}s (CRASH_AFTER_S)\n")
        return 1, "Error", started_at

    async def _virtual_probes(self, started_in: float, ready_in: float | None) -> None:
        """The probe results a virtual container would show (sandbox.kubelet.virtual.ready_after)."""
        async def until(offset: float) -> None:
            await asyncio.sleep(max(0.0, self._started_mono + offset - time.monotonic()))

        if started_in > 0:
            await until(started_in)
            self._set(started=True)
        if ready_in is None:  # READY_FAIL: /ready answers 503 at every probe
            await until(ProbeTiming.of(self.spec.get("readinessProbe") or {}).initial_delay)
            while True:
                self._unhealthy("Readiness", "HTTP probe failed with statuscode: 503")
                await asyncio.sleep(30)
        elif ready_in > 0:
            await until(ready_in)
            self._set(ready=True)

    # --- probes -----------------------------------------------------------------------

    async def _probes(self) -> None:
        spec = self.spec
        try:
            if spec.get("startupProbe"):
                if not await self._probe_loop(spec["startupProbe"], self._on_startup):
                    return
                self._set(started=True, ready=not spec.get("readinessProbe"))
            loops = [self._probe_loop(spec[k], cb) for k, cb in
                     (("readinessProbe", self._on_readiness), ("livenessProbe", self._on_liveness)) if spec.get(k)]
            if loops:
                await asyncio.gather(*loops)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("probes of %s/%s", self.pod.key, self.name)

    async def _probe_loop(self, probe: dict,
                          on_result: Callable[[bool, int, int, str, ProbeTiming], Awaitable[bool | None]]) -> bool:
        """Probe until ``on_result`` returns a bool (the loop's result); bounded by the process's life."""
        t = ProbeTiming.of(probe)
        await asyncio.sleep(max(0.0, self._started_mono + t.initial_delay - time.monotonic()))
        successes = failures = 0
        named = {p["name"]: int(p["containerPort"]) for p in self.spec.get("ports") or [] if p.get("name")}
        while True:
            t0 = time.monotonic()
            ok, msg = await run_probe(probe, pod_ip=self.pod.ip, named_ports=named, env=self._env,
                                      cwd=self.spec.get("workingDir") or str(self.pod.dir))
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            result = await on_result(ok, successes, failures, msg, t)
            if result is not None:
                return result
            await asyncio.sleep(max(0.0, t.period - (time.monotonic() - t0)))

    async def _on_startup(self, ok: bool, s: int, f: int, msg: str, t: ProbeTiming) -> bool | None:
        if ok:
            return True
        self._unhealthy("Startup", msg)
        if f >= t.failure_threshold:
            await self._restart_for("startup")
            return False
        return None

    async def _on_readiness(self, ok: bool, s: int, f: int, msg: str, t: ProbeTiming) -> None:
        if not ok:
            self._unhealthy("Readiness", msg)
        if ok and s >= t.success_threshold and not self.ready:
            self._set(ready=True)
        elif not ok and f >= t.failure_threshold and self.ready:
            self._set(ready=False)
        return None

    async def _on_liveness(self, ok: bool, s: int, f: int, msg: str, t: ProbeTiming) -> bool | None:
        if not ok:
            self._unhealthy("Liveness", msg)
        if not ok and f >= t.failure_threshold:
            await self._restart_for("liveness")
            return False
        return None

    def _unhealthy(self, probe: str, msg: str) -> None:
        """An Unhealthy Event per failed probe, as a kubelet records it, but at most one per
        message every 30 s, so a pod failing a 1 s probe does not flood the API server."""
        text = f"{probe} probe failed: {msg}"
        last = self._events_sent.get(text)
        if last is None or time.monotonic() - last >= 30:
            self._events_sent[text] = time.monotonic()
            self.pod.event("Unhealthy", text, warning=True)

    async def _restart_for(self, probe: str) -> None:
        self.pod.event("Killing", f"Container {self.name} failed {probe} probe, will be restarted")
        self._kill_task = asyncio.get_running_loop().create_task(self._kill(self.pod.grace_period))


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)
