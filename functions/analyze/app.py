"""Analyze stage: the configured provider, or the local rules (also the fallback).

Invoked by the pipeline state machine with the node to run and references
to the run (statemachine/pipeline.asl.json); returns a reference to the
stored output."""

from signalfire.handlers.stage import stage_handler
from signalfire.stages.analyze import run_analyze

lambda_handler = stage_handler(run_analyze)
