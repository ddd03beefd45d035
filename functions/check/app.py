"""Check stage: attach the latest host health results.

Invoked by the pipeline state machine with the node to run and references
to the run (statemachine/pipeline.asl.json); returns a reference to the
stored output."""

from signalfire.handlers.stage import stage_handler
from signalfire.stages.check import run_check

lambda_handler = stage_handler(run_check)
