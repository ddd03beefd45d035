"""`signalfire local`: the whole stack on one machine, no AWS account, no Docker."""
