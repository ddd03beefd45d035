"""AI analysis of incidents (seed: "Intelligence App"): providers, prompt, audit, config as data."""
