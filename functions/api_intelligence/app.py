"""Intelligence API: AI providers, analyses and host analyses
(``/intelligence/...``, routes in routes_intelligence.py).  Every route needs
the admin token.

A function of its own (template.yaml routes ``ANY /intelligence/{proxy+}``
here): only it loads the providers and their models, and only its role reads
the providers' API keys (docs/build.md, "Cold start")."""

from __future__ import annotations

import routes_intelligence
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire.auth import Role
from signalfire.handlers.resolver import make_resolver
from signalfire.observability import logger, metrics, tracer

app = make_resolver(Role.ADMIN, json_bodies=True)
app.include_router(routes_intelligence.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
