"""Pipeline definitions: schema (models), validation, compilation to the
Step Functions input, transform semantics, presets and storage.

Import the pieces from their modules; ``signalfire.services.pipeline_store()``
gives the process-wide store.  docs/pipelines.md describes the whole thing.
"""
