"""The run items' keys: one source for the Python store and for the state
machine's own DynamoDB tasks (statemachine/pipeline.asl.json writes the run
item directly).  tests/unit/test_asl_orchestration.py binds the ASL to these."""

from __future__ import annotations

#: ``PK`` of every item of a run; the ASL builds it with ``States.Format(RUN_PK_FORMAT, $.run_id)``.
RUN_PK_FORMAT = "RUN#{}"
#: ``SK`` of the run item itself.
RUN_SK = "META"
#: ``GSI2PK`` of a run in a status (the ASL writes it with the status it sets).
STATUS_GSI_FORMAT = "RUNS#STATUS#{}"
#: ``GSI1PK`` of every run, ``GSI3PK`` of an incident's runs.
ALL_RUNS = "RUNS"
INCIDENT_GSI_FORMAT = "RUNS#INCIDENT#{}"
#: ``GSI4PK`` of a run that has no outcome yet (owed or in progress), ``GSI4SK`` its
#: ``GSI1SK``.  The index is sparse: whatever sets an outcome removes both (the
#: ASL's Completed/Skipped/Failed tasks too), a resume puts them back, so the
#: reconciler's query costs what is open, not every run ever made.
OPEN_RUNS = "RUNS#OPEN"
OPEN_INDEX_ATTRIBUTES = ("GSI4PK", "GSI4SK")


def run_pk(run_id: str) -> str:
    return RUN_PK_FORMAT.format(run_id)


def status_gsi(status: str) -> str:
    return STATUS_GSI_FORMAT.format(status)


def incident_gsi(incident_id: str) -> str:
    return INCIDENT_GSI_FORMAT.format(incident_id)
