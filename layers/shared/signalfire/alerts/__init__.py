"""Alerts: webhook drivers, deduplication into alerts and incidents, queries."""
