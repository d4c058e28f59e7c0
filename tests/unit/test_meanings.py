"""The one table of what each condition state means (`meanings.py`): complete, in step with the
retry classes, and the source of every file that interprets a state (Argo CD's health check and
its cases, the docs). That the report produces exactly the table's states is
`test_states_reported.py`'s."""

from __future__ import annotations

import re

import pytest

from awsorg_generators import states as generator
from awsorg_operator.conditions import REASONS
from awsorg_operator.failures import CallFailure, Kind, Retry
from awsorg_operator.meanings import ROWS, TABLE, Meaning, meaning, states
from awsorg_operator.reasons import Reason, recorded

pytestmark = pytest.mark.unit


def test_every_reason_has_exactly_one_row() -> None:
    assert [r.reason for r in TABLE] == list(ROWS)  # no reason twice
    assert set(ROWS) == set(Reason)
    assert all(r.pairs and r.sentence for r in TABLE)
    assert len({(s.ready, s.synced, s.reason) for s in states()}) == len(states())


@pytest.mark.parametrize("kind", list(Kind))
def test_a_failed_call_passes_by_itself_exactly_when_it_is_retried_soon(kind: Kind) -> None:
    retry = CallFailure("Any", "Code", "m", kind).retry
    expected = Meaning.TEMPORARY if retry is Retry.SOON else Meaning.NEEDS_PERSON
    assert meaning(REASONS[kind]) is expected, (kind, retry)


def test_expired_and_refused_credentials_have_reasons_of_their_own() -> None:
    expired, refused = REASONS[Kind.CREDENTIALS_EXPIRED], REASONS[Kind.CREDENTIALS_REFUSED]
    assert (expired, refused) == (Reason.AWS_CREDENTIALS_EXPIRED, Reason.AWS_CREDENTIALS)
    assert (meaning(expired).health, meaning(refused).health) == ("Progressing", "Degraded")


def test_argo_cd_health_follows_from_the_meaning() -> None:
    assert {m: m.health for m in Meaning} == {
        Meaning.HEALTHY: "Healthy",
        Meaning.IN_PROGRESS: "Progressing",
        Meaning.TEMPORARY: "Progressing",
        Meaning.NEEDS_PERSON: "Degraded",
    }
    assert [s for s in states() if s.meaning is Meaning.HEALTHY] == [
        s for s in states() if s.ready == "True"
    ]


def test_a_refusal_recorded_by_another_version_reads_as_aws_refused() -> None:
    assert recorded("MaintenanceMode") is Reason.MAINTENANCE_MODE
    assert recorded("SomethingRenamed") is Reason.AWS_REFUSED
    assert recorded(None) is Reason.AWS_REFUSED


def test_the_generated_files_are_in_step_with_the_table() -> None:
    """health.lua and its argocd-cm copy, health_test.yaml and testdata/states/, and the tables
    in docs/troubleshooting.md and docs/argocd.md."""
    assert generator.behind(generator.outputs()) == [], (
        "run: .venv/bin/python -m awsorg_generators.states"
    )
    assert generator.main(["--check"]) == 0


def test_the_check_finds_a_file_out_of_step_and_one_left_over() -> None:
    wanted = generator.outputs()
    script = wanted[generator.SCRIPT]
    wanted[generator.SCRIPT] = script.replace('AccessDenied = "Degraded"', 'AccessDenied = "x"')
    assert wanted[generator.SCRIPT] != script
    left_over = generator.STATES_DIR / "access-denied-ready-unknown-synced-false.yaml"
    del wanted[left_over]
    assert generator.behind(wanted) == [generator.SCRIPT, left_over]


def _section(doc: str, heading: str) -> set[str]:
    """The reasons in the first column of the table under `heading`."""
    body = doc.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE))


def test_troubleshooting_says_what_to_do_for_every_reason_where_its_meaning_puts_it() -> None:
    doc = generator.TROUBLESHOOTING.read_text()
    themselves = {
        str(r.reason) for r in TABLE if r.meaning in (Meaning.IN_PROGRESS, Meaning.TEMPORARY)
    }
    person = {str(r.reason) for r in TABLE if r.meaning is Meaning.NEEDS_PERSON}
    assert _section(doc, "Reasons that resolve themselves") == themselves
    assert _section(doc, "Reasons that need a person") == person
    assert _section(doc, "What each state means") == {str(r) for r in Reason}
