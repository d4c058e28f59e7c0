"""The demo: the operator doing its job on a machine with neither a cluster nor AWS.

A local control plane, the AWS emulators holding a small organization that already uses Audit
Manager (a management account and two members), and the operator under the chart's RBAC. It
applies the example, waits for Ready, shows the status, then changes the KMS key behind the
operator's back and shows the drift noticed and corrected. Everything stops on exit, Ctrl-C
included; the logs stay in the folder it names.

    python -m awsorg_experiments.demo [--logs DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
from pathlib import Path

import boto3
import yaml

from awsorg_devbase import wait_for
from awsorg_devstack import REPO, Operator, install_crd_and_rbac
from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorProcess
from awsorg_localcluster import LocalControlPlane

EXAMPLE = REPO / "examples" / "adopt-existing.yaml"
NAME = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
DRIFTED_KEY = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m", flush=True)


def show(cp: LocalControlPlane, *args: str) -> str:
    out = cp.kubectl(*args).stdout
    print(out.rstrip(), flush=True)
    return out


def ready_reason(cp: LocalControlPlane) -> str:
    out = cp.kubectl(
        "get", "amoc", NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}'
    ).stdout
    return out.strip()


def run(logs: Path) -> None:
    say("Starting a local control plane (etcd + kube-apiserver)")
    with LocalControlPlane(workdir=logs / "control-plane") as cp:
        print(f"KUBECONFIG={cp.kubeconfig}")
        say("Starting the AWS emulators: an organization already using Audit Manager")
        with EmulatorProcess(log_path=logs / "aws-emulator.log") as aws:
            state = aws.control.state()
            organization = state["organization"]
            for account in organization["accounts"] if organization else []:
                print(f"  account {account['id']} ({account['name']})")
            for region, am in state["auditManager"].items():
                print(
                    f"  Audit Manager in {region}: delegated administrator {am['adminAccountID']}"
                )
            say("Installing the CRD and the Helm chart's RBAC; starting the operator")
            kubeconfig = install_crd_and_rbac(cp)
            values = {"operator.resyncSeconds": "10"}  # the chart's minimum, for a short demo
            operator = Operator(kubeconfig, aws.endpoint_url, logs / "operator.log", values)
            operator.start()
            try:
                demo(cp, aws, operator)
            finally:
                operator.stop()


def demo(cp: LocalControlPlane, aws: EmulatorProcess, operator: Operator) -> None:
    say(f"kubectl apply -f {EXAMPLE.relative_to(REPO)}")
    show(cp, "apply", "-f", str(EXAMPLE))
    show(cp, "wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=90s")
    show(cp, "get", "amoc", "-o", "wide")
    say("Its status: what the operator observed in AWS")
    status = json.loads(cp.kubectl("get", "amoc", NAME, "-o", "json").stdout)["status"]
    print(json.dumps(status, indent=2))

    say(f"Behind the operator's back: the KMS key in us-east-1 becomes {DRIFTED_KEY}")
    am = boto3.client(
        "auditmanager",
        region_name="us-east-1",
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=MANAGEMENT_ACCOUNT_ID,
        aws_secret_access_key="not-a-secret",
    )
    am.update_settings(kmsKey=DRIFTED_KEY)
    say("The periodic re-check notices the drift and corrects it")
    wait_for(
        "the key set back to DEFAULT",
        lambda: aws.control.state()["auditManager"]["us-east-1"]["kmsKey"] == "DEFAULT",
        timeout=60,
    )
    wait_for("Ready again", lambda: ready_reason(cp) == "Reconciled", timeout=30)
    show(
        cp,
        "get",
        "events",
        "-A",
        "--field-selector",
        f"involvedObject.name={NAME}",
        "-o",
        "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message",
    )
    show(cp, "get", "amoc", "-o", "wide")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--logs",
        type=Path,
        default=REPO / ".work" / "demo",
        help="where the logs go (emptied first)",
    )
    logs = parser.parse_args().logs.resolve()
    # Ctrl-C stops the demo wherever it was started: a background job of a non-interactive
    # shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    try:
        run(logs)
        say("Done: everything it started has stopped")
        return 0
    except KeyboardInterrupt:
        say("Interrupted: everything it started has stopped")
        return 130
    finally:
        print(f"Logs: {logs} (operator.log, aws-emulator.log, control-plane/)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
