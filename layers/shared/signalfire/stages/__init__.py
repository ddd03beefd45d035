"""Pipeline stages: what each Lambda task of the state machine does.

Each stage gets the node it runs and references to the run, loads what it
needs (incident, alerts, earlier outputs) from the table, stores its own
output there (claim check) and returns only a small reference.
"""
