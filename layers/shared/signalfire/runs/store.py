"""The run store interface: runs, their stage attempts, stage outputs (claim
check) and deliveries.  The DynamoDB implementation is :mod:`signalfire.runs.dynamo`.

An output reference is ``RUN#<run_id>/OUT#<node_id>`` (:func:`output_ref`); only
such references travel through the state machine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from signalfire.runs.keys import run_pk
from signalfire.runs.models import PipelineRun, StageExecution
from signalfire.store.dynamo import Page


def output_ref(run_id: str, node_id: str) -> str:
    """The claim-check reference of a stage output."""
    return f"{run_pk(run_id)}/OUT#{node_id}"


def parse_output_ref(ref: str) -> tuple[str, str]:
    """``(PK, SK)`` of an output reference; ValueError for anything else."""
    pk, sep, sk = ref.partition("/")
    if not sep or not pk.startswith(run_pk("")) or not sk.startswith("OUT#"):
        raise ValueError(f"not a stage output reference: {ref!r}")
    return pk, sk


class RunStore(ABC):
    """Runs, their stage attempts, stage outputs (claim check) and deliveries."""

    @staticmethod
    def output_ref(run_id: str, index: int, node_id: str) -> str:
        """The reference :meth:`put_output` returns (``index`` is not part of it)."""
        return output_ref(run_id, node_id)

    @abstractmethod
    def create_run(self, run: PipelineRun) -> None: ...

    @abstractmethod
    def get_run(self, run_id: str) -> PipelineRun: ...

    @abstractmethod
    def update_run(self, run_id: str, fields: dict[str, Any], *, condition: str | None = None,
                   values: dict[str, Any] | None = None, add: dict[str, int] | None = None,
                   names: dict[str, str] | None = None) -> None: ...

    @abstractmethod
    def list_runs(self, *, status: str | None, incident_id: str | None, since: str | None, limit: int,
                  next_token: str | None) -> Page: ...

    @abstractmethod
    def open_runs(self) -> list[str]:
        """Ids of the runs that have no outcome yet (owed or in progress), oldest first."""

    @abstractmethod
    def put_stage(self, stage: StageExecution) -> None: ...

    @abstractmethod
    def stages(self, run_id: str) -> list[StageExecution]: ...

    @abstractmethod
    def put_output(self, run_id: str, index: int, node_id: str, node_type: str, output: dict[str, Any],
                   stage: StageExecution | None = None) -> str:
        """Store a stage's output (and, with ``stage``, its finished
        StageExecution, in the same round trip); returns its reference."""

    @abstractmethod
    def get_outputs(self, refs: dict[str, str]) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def outputs_from(self, refs: dict[str, str], items: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The outputs ``refs`` point at, decoded from items read already (by ``(PK, SK)``)."""

    @abstractmethod
    def outputs(self, run_id: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def output_refs(self, run_id: str) -> dict[str, str]: ...

    @abstractmethod
    def delivered(self, run_id: str, node_id: str, channel: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def record_delivery(self, run_id: str, node_id: str, channel: str, result: dict[str, Any]) -> bool: ...
