"""The local control plane behaves like a real cluster's API server where the operator needs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from awsorg_localcluster import ApiError, ControlPlaneError, LocalControlPlane, tool_path

from .conftest import wait_until

pytestmark = pytest.mark.e2e

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.awsorg.io
spec:
  group: harness.awsorg.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1}
            status:
              type: object
              properties:
                observedGeneration: {type: integer}
"""


def widget(name: str, namespace: str, size: int, finalizers: tuple[str, ...] = ()) -> str:
    return json.dumps(
        {
            "apiVersion": "harness.awsorg.io/v1",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": namespace, "finalizers": list(finalizers)},
            "spec": {"size": size},
        }
    )


def get_json(cp: LocalControlPlane, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(cp.kubectl("get", *args, "-o", "json").stdout)
    return result


def create_namespace(cp: LocalControlPlane, name: str) -> str:
    cp.kubectl("create", "namespace", name)
    return name


@pytest.fixture(scope="module")
def widget_crd(control_plane: LocalControlPlane) -> str:
    control_plane.kubectl("apply", "-f", "-", input=WIDGET_CRD)
    control_plane.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/widgets.harness.awsorg.io",
    )
    return "widgets.harness.awsorg.io"


def test_get_json_reads_what_kubectl_prints_and_names_a_refusal(
    control_plane: LocalControlPlane,
) -> None:
    ns = create_namespace(control_plane, "read-directly")

    read = control_plane.get_json(f"/api/v1/namespaces/{ns}")

    read["metadata"].pop("managedFields")  # kubectl leaves them out unless asked
    assert read == get_json(control_plane, "namespace", ns)
    with pytest.raises(ApiError, match=r"HTTP 404: .*no-such-namespace.* not found"):
        control_plane.get_json("/api/v1/namespaces/no-such-namespace")


def test_api_server_is_ready_and_admin_is_cluster_admin(control_plane: LocalControlPlane) -> None:
    assert control_plane.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    assert control_plane.server.startswith("https://127.0.0.1:")
    version = json.loads(control_plane.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.")
    assert control_plane.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"


def test_crd_becomes_established_and_validates_custom_resources(
    control_plane: LocalControlPlane, widget_crd: str
) -> None:
    ns = create_namespace(control_plane, "crd-validation")
    control_plane.kubectl("create", "-f", "-", input=widget("ok", ns, size=1))
    rejected = control_plane.kubectl(
        "create", "-f", "-", input=widget("too-small", ns, size=0), check=False
    )
    assert rejected.returncode != 0
    assert "spec.size" in rejected.stderr
    assert "greater than or equal to 1" in rejected.stderr


def test_status_subresource_is_separate_from_spec(
    control_plane: LocalControlPlane, widget_crd: str
) -> None:
    ns = create_namespace(control_plane, "crd-status")
    control_plane.kubectl("create", "-f", "-", input=widget("w", ns, size=1))
    control_plane.kubectl(
        "patch", "widget", "w", "-n", ns, "--type=merge", "--subresource=status",
        "-p", '{"status": {"observedGeneration": 1}}',
    )  # fmt: skip
    # A status written through the main resource is ignored, and spec changes bump generation.
    control_plane.kubectl(
        "patch", "widget", "w", "-n", ns, "--type=merge",
        "-p", '{"spec": {"size": 2}, "status": {"observedGeneration": 99}}',
    )  # fmt: skip
    obj = get_json(control_plane, "widget", "w", "-n", ns)
    assert obj["status"] == {"observedGeneration": 1}
    assert obj["metadata"]["generation"] == 2  # type: ignore[index]


def test_finalizer_holds_deletion_until_removed(
    control_plane: LocalControlPlane, widget_crd: str
) -> None:
    ns = create_namespace(control_plane, "crd-finalizer")
    control_plane.kubectl(
        "create", "-f", "-", input=widget("w", ns, size=1, finalizers=("awsorg.io/finalizer",))
    )
    control_plane.kubectl("delete", "widget", "w", "-n", ns, "--wait=false")
    obj = get_json(control_plane, "widget", "w", "-n", ns)
    assert obj["metadata"]["deletionTimestamp"]  # type: ignore[index]
    control_plane.kubectl(
        "patch", "widget", "w", "-n", ns, "--type=merge", "-p", '{"metadata": {"finalizers": null}}'
    )
    control_plane.kubectl("wait", "--for=delete", "widget/w", "-n", ns, "--timeout=30s")


def test_service_account_is_denied_until_a_role_binding_allows_it(
    control_plane: LocalControlPlane,
) -> None:
    ns = "rbac-check"
    config = control_plane.kubeconfig_for_service_account(ns, "reader")
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    whoami = json.loads(
        control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=config).stdout
    )
    assert whoami["status"]["userInfo"]["username"] == f"system:serviceaccount:{ns}:reader"

    def can_list() -> str:
        return control_plane.kubectl(
            "auth", "can-i", "list", "configmaps", "-n", ns, kubeconfig=config, check=False
        ).stdout.strip()

    assert can_list() == "no"
    denied = control_plane.kubectl("get", "configmaps", "-n", ns, kubeconfig=config, check=False)
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr

    control_plane.kubectl(
        "create", "role", "configmap-reader", "-n", ns, "--verb=get,list", "--resource=configmaps"
    )
    control_plane.kubectl(
        "create", "rolebinding", "reader", "-n", ns, "--role=configmap-reader",
        f"--serviceaccount={ns}:reader",
    )  # fmt: skip
    wait_until(lambda: can_list() == "yes", timeout=30, what="RoleBinding takes effect")
    control_plane.kubectl("get", "configmaps", "-n", ns, kubeconfig=config)
    # Still nothing beyond the Role: not other namespaces, not other verbs.
    other = control_plane.kubectl(
        "auth", "can-i", "delete", "configmaps", "-n", ns, kubeconfig=config, check=False
    )
    assert other.stdout.strip() == "no"


def test_restart_apiserver_keeps_data_port_and_tokens(control_plane: LocalControlPlane) -> None:
    ns = create_namespace(control_plane, "restart")
    control_plane.kubectl("create", "configmap", "kept", "-n", ns, "--from-literal=key=value")
    sa_config = control_plane.kubeconfig_for_service_account(ns, "operator")
    server, old_pid = control_plane.server, control_plane.pids["kube-apiserver"]
    etcd_pid = control_plane.pids["etcd"]

    control_plane.restart_apiserver()

    assert control_plane.server == server
    assert control_plane.pids["kube-apiserver"] != old_pid
    assert control_plane.pids["etcd"] == etcd_pid
    kept = get_json(control_plane, "configmap", "kept", "-n", ns)
    assert kept["data"] == {"key": "value"}
    # The same signing key: tokens issued before the restart still authenticate.
    whoami = control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=sa_config)
    assert f"system:serviceaccount:{ns}:operator" in whoami.stdout
    assert control_plane.log_tail("kube-apiserver", lines=10_000).count("start #2") == 1


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _children_named(names: set[str]) -> set[int]:
    """Our child processes called one of ``names`` (the session's control plane's too)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm in names:
            found.add(int(entry.name))
    return found


def test_stop_leaves_no_process_port_or_folder_behind() -> None:
    before = _children_named({"etcd", "kube-apiserver"})
    cp = LocalControlPlane()
    with cp:
        pids = dict(cp.pids)
        workdir = cp.workdir
        ports = [int(cp.server.rsplit(":", 1)[1]), int(cp.etcd_url.rsplit(":", 1)[1])]
        assert set(pids) == {"etcd", "kube-apiserver"}
        assert _processes_mentioning(str(workdir))
        assert _children_named({"etcd", "kube-apiserver"}) == before | set(pids.values())
    assert not cp.running
    assert cp.pids == {}
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists(), f"pid {pid} still exists"
    assert _processes_mentioning(str(workdir)) == []
    assert _children_named({"etcd", "kube-apiserver"}) == before
    assert all(_port_is_free(port) for port in ports)
    assert not workdir.exists()
    cp.stop()  # idempotent


def test_a_relative_folder_is_taken_from_where_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with LocalControlPlane(workdir=Path("cp")) as cp:
        assert cp.workdir == tmp_path / "cp"
        assert (tmp_path / "cp" / "pki" / "sa.key").is_file()
        assert cp.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"


def test_failed_start_stops_what_it_started() -> None:
    before = _children_named({"etcd", "kube-apiserver"})
    cp = LocalControlPlane(extra_apiserver_args=["--no-such-flag=1"], keep_workdir=True)
    with pytest.raises(ControlPlaneError, match="no-such-flag"):
        cp.start()
    try:
        assert not cp.running
        assert _processes_mentioning(str(cp.workdir)) == []
        assert _children_named({"etcd", "kube-apiserver"}) == before
    finally:
        shutil.rmtree(cp.workdir, ignore_errors=True)


def test_module_entry_point_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "awsorg_localcluster"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        kubeconfig = None
        for line in process.stdout:  # ends when the process exits
            if line.startswith("export KUBECONFIG="):
                kubeconfig = line.split("=", 1)[1].strip()
                break
        assert kubeconfig, process.stderr.read() if process.stderr else ""
        workdir = Path(kubeconfig).parent.parent
        cp_env = dict(os.environ, KUBECONFIG=kubeconfig)
        namespaces = subprocess.run(
            [str(tool_path("kubectl")), "get", "namespace", "default", "-o", "name"],
            env=cp_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert namespaces.stdout.strip() == "namespace/default"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert _processes_mentioning(str(workdir)) == []
        assert not workdir.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_children_die_with_a_killed_test_process() -> None:
    """Even SIGKILL (no atexit, no finally) leaves no etcd or kube-apiserver behind."""
    script = (
        "from awsorg_localcluster import LocalControlPlane\n"
        "cp = LocalControlPlane(keep_workdir=True)\n"
        "cp.start()\n"
        "print(cp.workdir, flush=True)\n"
        "input()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workdir = None
    try:
        assert process.stdout is not None
        workdir = process.stdout.readline().strip()
        assert workdir, process.stderr.read() if process.stderr else ""
        assert len(_processes_mentioning(workdir)) == 2
        process.kill()
        process.wait(timeout=30)
        wait_until(
            lambda: _processes_mentioning(workdir) == [],
            timeout=30,
            what="etcd and kube-apiserver exit after their parent was killed",
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
