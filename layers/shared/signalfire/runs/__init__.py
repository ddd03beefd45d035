"""Pipeline runs: records, launching, resuming and signals."""
