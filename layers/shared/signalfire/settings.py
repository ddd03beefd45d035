"""Configuration: one pydantic model read from the environment once."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import Field, field_validator

from signalfire import constants as env
from signalfire.models import Model
from signalfire.pipelines.budget import WorkflowLimits


class Settings(Model):
    table_name: str = "signalfire"
    state_machine_arn: str = ""
    webhook_token_secret: str = "signalfire/webhook-token"
    admin_token_secret: str = "signalfire/admin-token"
    signing_secret: str = ""
    # template.yaml's MaxBodyBytes bounds: an alert item must fit DynamoDB's 400 KB.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=256 * 1024)
    audit_retention_days: int = Field(default=90, ge=1)
    environment: str = "production"
    default_pipeline: str = "direct"
    source_pipelines: dict[str, str] = Field(default_factory=dict)
    agent_pipeline: str = "local-monitor"
    host_silent_multiple: float = Field(default=3.0, ge=1.0)
    intelligence_fallback_enabled: bool = True
    max_retries_per_stage: int = 3
    stage_retry_interval_seconds: float = 2
    stage_backoff_rate: float = 2
    workflow_type: str = "STANDARD"
    # The stage functions' timeouts (template Mappings: Timeouts); the defaults are the template's.
    stage_timeouts: dict[str, int] = Field(default_factory=lambda: {"check": 30, "analyze": 120, "notify": 60,
                                                                    "transform": 30})
    secret_cache_seconds: int = 300
    #: A firing alert whose incident was closed by hand opens a new one after this long.
    reopen_quiet_seconds: int = Field(default=14400, ge=0)
    #: A run with no progress for this long is restarted or failed by the reconciler.
    run_deadline_seconds: int = Field(default=900, ge=60)
    local_mode: bool = False

    @field_validator("source_pipelines", "stage_timeouts", mode="before")
    @classmethod
    def _json_map(cls, v: object) -> object:
        if isinstance(v, str):
            v = v.strip()
            return json.loads(v) if v else {}
        return v

    def workflow_limits(self) -> WorkflowLimits:
        """What bounds a pipeline run's duration (checked when a definition is saved)."""
        return WorkflowLimits(workflow_type=self.workflow_type, retry_interval_seconds=self.stage_retry_interval_seconds,
                              backoff_rate=self.stage_backoff_rate, max_retries=self.max_retries_per_stage,
                              fallback_enabled=self.intelligence_fallback_enabled, timeouts=dict(self.stage_timeouts))

    @classmethod
    def from_env(cls) -> Settings:
        mapping = {
            "table_name": env.TABLE_NAME,
            "state_machine_arn": env.STATE_MACHINE_ARN,
            "webhook_token_secret": env.WEBHOOK_TOKEN_SECRET,
            "admin_token_secret": env.ADMIN_TOKEN_SECRET,
            "signing_secret": env.SIGNING_SECRET,
            "max_body_bytes": env.MAX_BODY_BYTES,
            "audit_retention_days": env.AUDIT_RETENTION_DAYS,
            "environment": env.ENVIRONMENT,
            "default_pipeline": env.DEFAULT_PIPELINE,
            "source_pipelines": env.SOURCE_PIPELINES,
            "agent_pipeline": env.AGENT_PIPELINE,
            "host_silent_multiple": env.HOST_SILENT_MULTIPLE,
            "intelligence_fallback_enabled": env.INTELLIGENCE_FALLBACK_ENABLED,
            "max_retries_per_stage": env.MAX_RETRIES_PER_STAGE,
            "stage_retry_interval_seconds": env.STAGE_RETRY_INTERVAL_SECONDS,
            "stage_backoff_rate": env.STAGE_BACKOFF_RATE,
            "workflow_type": env.WORKFLOW_TYPE,
            "stage_timeouts": env.STAGE_TIMEOUTS,
            "secret_cache_seconds": env.SECRET_CACHE_SECONDS,
            "reopen_quiet_seconds": env.REOPEN_QUIET_SECONDS,
            "run_deadline_seconds": env.RUN_DEADLINE_SECONDS,
            "local_mode": env.LOCAL_MODE,
        }
        values = {field: os.environ[var] for field, var in mapping.items() if os.environ.get(var, "") != ""}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()``)."""
    return Settings.from_env()
