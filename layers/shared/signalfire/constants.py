"""Environment variable names, in one place.  template.yaml sets them; the
local stack reads the same template, so a name changes here and there only."""

TABLE_NAME = "SIGNALFIRE_TABLE"
STATE_MACHINE_ARN = "SIGNALFIRE_STATE_MACHINE_ARN"
WEBHOOK_TOKEN_SECRET = "SIGNALFIRE_WEBHOOK_TOKEN_SECRET"
ADMIN_TOKEN_SECRET = "SIGNALFIRE_ADMIN_TOKEN_SECRET"
SIGNING_SECRET = "SIGNALFIRE_SIGNING_SECRET"
MAX_BODY_BYTES = "SIGNALFIRE_MAX_BODY_BYTES"
AUDIT_RETENTION_DAYS = "SIGNALFIRE_AUDIT_RETENTION_DAYS"
ENVIRONMENT = "SIGNALFIRE_ENVIRONMENT"
DEFAULT_PIPELINE = "SIGNALFIRE_DEFAULT_PIPELINE"
SOURCE_PIPELINES = "SIGNALFIRE_SOURCE_PIPELINES"
# the pipeline agent alerts start unless SOURCE_PIPELINES maps "agent" (local-monitor)
AGENT_PIPELINE = "SIGNALFIRE_AGENT_PIPELINE"
# a host is silent (and its results stale) after this many of its intervals without a report
HOST_SILENT_MULTIPLE = "SIGNALFIRE_HOST_SILENT_MULTIPLE"
INTELLIGENCE_FALLBACK_ENABLED = "SIGNALFIRE_INTELLIGENCE_FALLBACK_ENABLED"
MAX_RETRIES_PER_STAGE = "SIGNALFIRE_MAX_RETRIES_PER_STAGE"
LOCAL_MODE = "SIGNALFIRE_LOCAL"
LOCAL_OUTBOX = "SIGNALFIRE_LOCAL_OUTBOX"
SECRET_CACHE_SECONDS = "SIGNALFIRE_SECRET_CACHE_SECONDS"
# notify: outbound destinations allowed although private (CIDRs / host names, comma separated)
NOTIFY_ALLOWLIST = "SIGNALFIRE_NOTIFY_ALLOWLIST"
# notify: allow loopback destinations (default true in local mode only)
NOTIFY_ALLOW_LOOPBACK = "SIGNALFIRE_NOTIFY_ALLOW_LOOPBACK"
# notify: SSM/Secrets Manager names a channel's secret reference may use
NOTIFY_SECRET_PREFIX = "SIGNALFIRE_NOTIFY_SECRET_PREFIX"
# notify: the API's base URL, for links to incidents and runs in notifications (set by `signalfire local`)
PUBLIC_URL = "SIGNALFIRE_PUBLIC_URL"
# notify: the SSM parameter holding that URL in AWS (template.yaml PublicUrlParameter)
PUBLIC_URL_PARAMETER = "SIGNALFIRE_PUBLIC_URL_PARAMETER"
