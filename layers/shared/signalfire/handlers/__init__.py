"""Plumbing shared by the thin Lambda handlers (the only Lambda-aware code
in the layer): the HTTP resolver, error mapping, auth and body access."""
