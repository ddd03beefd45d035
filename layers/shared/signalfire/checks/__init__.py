"""Host health: agent check-ins, CheckRuns, the CheckAlertBridge and silent hosts."""
