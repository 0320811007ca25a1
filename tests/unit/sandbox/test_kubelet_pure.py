"""Pure parts of the sandbox's kubelet stand-in: addresses, images, env, targets."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

from sandbox import images, proc
from sandbox.kubelet.envs import expand, field_ref
from sandbox.kubelet.ipam import FIRST, Ipam
from sandbox.kubelet.pod import _metrics_port, _workload
from sandbox.kubelet.probes import ProbeTiming


def test_ipam_hands_out_distinct_loopback_addresses_round_robin():
    ipam = Ipam()
    first = ipaddress.IPv4Address(FIRST)
    nth = [str(first + i) for i in range(3)]
    assert first.is_loopback and str(first) != "127.0.0.1"
    a, b = ipam.allocate("a"), ipam.allocate("b")
    assert [a, b] == nth[:2]
    ipam.release("a")
    assert ipam.allocate("c") == nth[2]  # a freed address is not reused at once
    assert ipam.allocate("b") == b
    assert ipam.allocate("d", preferred=nth[0]) == nth[0]
    assert ipam.allocate("e", preferred=nth[1]) != nth[1]  # taken


def test_images_table():
    assert images.split_image("docker.io/ripcord/demo-app:2.0.1") == ("ripcord/demo-app", "2.0.1")
    ctx = images.ImageContext("127.100.0.9", 8080)
    argv = images.resolve("ripcord/demo-app:2.0.0", None, ["--extra"], ctx)
    assert argv == [sys.executable, "-m", "sandbox.demoapp", "--host", "127.100.0.9", "--port", "8080",
                    "--version", "2.0.0", "--extra"]
    assert images.resolve("ripcord/demo-app:1", ["sh", "-c"], ["exit 1"], ctx) == ["sh", "-c", "exit 1"]
    assert images.resolve("nginx:1.25", None, None, ctx) is None


def test_env_expansion_and_field_refs():
    assert expand("a $(X) $(Y) $$(X)", {"X": "1"}) == "a 1 $(Y) $(X)"
    pod = {"metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}}, "spec": {"nodeName": "sandbox-node"}}
    assert field_ref(pod, "127.100.0.5", "status.podIP") == "127.100.0.5"
    assert field_ref(pod, "", "metadata.labels['app']") == "x"
    assert field_ref(pod, "", "metadata.namespace") == "n"


def test_workload_and_metrics_port():
    meta = {"name": "web-a-5d9f-abcde", "labels": {"pod-template-hash": "5d9f"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-a-5d9f", "controller": True}]}
    assert _workload(meta) == "web-a"
    assert _workload({"name": "solo"}) == "solo"
    assert _workload({"name": "x-0", "ownerReferences": [{"kind": "StatefulSet", "name": "x"}]}) == "x"
    pod = {"spec": {"containers": [{"ports": [{"containerPort": 1}, {"name": "http", "containerPort": 2}]},
                                   {"ports": [{"name": "metrics", "containerPort": 3}]}]}}
    assert _metrics_port(pod) == 3
    assert _metrics_port({"spec": {"containers": [{"name": "c"}]}}) is None


def test_probe_defaults():
    t = ProbeTiming.of({"httpGet": {"port": 80}})
    assert (t.initial_delay, t.period, t.timeout, t.success_threshold, t.failure_threshold) == (0, 10, 1, 1, 3)


def test_pid_record_survives_only_with_the_same_process(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        rec = proc.write_pid(tmp_path / "x.pid", child.pid)
        assert proc.running(tmp_path / "x.pid") == rec
        assert not proc.PidRecord(child.pid, "1").alive()  # same pid, other start time: not ours
        proc.terminate(rec, timeout=5)
        assert not rec.alive() and child.poll() is not None
    finally:
        if child.poll() is None:
            os.kill(child.pid, 9)
            child.wait()
