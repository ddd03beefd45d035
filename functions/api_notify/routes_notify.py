"""Notify: stored channels, drivers, and direct sends (seed: apps/notify URLs)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from signalfire import services
from signalfire.errors import NotFoundError
from signalfire.models import Model
from signalfire.notify.channels import CHANNELS, get_channel
from signalfire.notify.models import (
    BatchOutcome,
    ChannelList,
    ChannelOut,
    DriverInfo,
    DriverList,
    DriverRequirements,
    NotificationEvent,
    NotificationMessage,
    SendOutcome,
)
from signalfire.notify.service import ChannelInput, Target

router = APIGatewayHttpRouter()


class SendRequest(Model):
    """One notification (seed: NotificationMessage) and where it goes."""

    title: str = Field(min_length=1, max_length=2000)
    message: str = Field(default="", max_length=100_000)
    severity: str = "info"
    channel: str = "default"
    tags: dict[str, str] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    event: NotificationEvent = NotificationEvent.TRIGGER
    dedup_key: str = Field(default="", max_length=255)
    provider: str | None = Field(default=None, description="A stored channel name, or a driver (then `config`)")
    driver: str | None = Field(default=None, description="Alias of provider")
    config: dict[str, Any] | None = Field(default=None, description="Driver config when provider is a driver")

    def message_(self) -> NotificationMessage:
        return NotificationMessage(title=self.title, message=self.message, severity=self.severity,
                                   channel=self.channel, tags=self.tags, context=self.context, event=self.event,
                                   dedup_key=self.dedup_key)


class BatchRequest(Model):
    notifications: list[SendRequest] = Field(min_length=1, max_length=20)


def _target(req: SendRequest, driver: str | None = None) -> Target:
    return services.api_notify_service().select_for_send(driver or req.provider or req.driver, req.config)


def _answer(result: dict[str, Any]) -> Response[SendOutcome]:
    # a receiver that refused or failed is a failed upstream call (502), never a 200 success
    return Response(status_code=200 if result["success"] else 502, content_type=content_types.APPLICATION_JSON,
                    body=SendOutcome.model_validate(result))


@router.get("/notify/drivers")
def list_drivers() -> DriverList:
    items = [DriverInfo(driver=name, description=cls.description, secret_keys=list(cls.secret_keys))
             for name, cls in sorted(CHANNELS.items())]
    return DriverList(items=items, count=len(items))


@router.get("/notify/drivers/<driver>")
def driver_requirements(driver: str) -> DriverRequirements:
    if driver not in CHANNELS:
        raise NotFoundError(f"unknown notify driver {driver!r}; known: {', '.join(sorted(CHANNELS))}")
    return DriverRequirements.model_validate(get_channel(driver).requirements())


#: 200 when the receiver took it; 502 (same body) when it refused or failed
SENT = {200: {"description": "sent", "content": {"application/json": {"model": SendOutcome}}},
        502: {"description": "the receiver refused or failed", "content": {"application/json": {"model": SendOutcome}}}}


@router.post("/notify/send", responses=SENT)
def send(body: Annotated[SendRequest, Body()]) -> Response[SendOutcome]:
    return _answer(services.api_notify_service().send_direct(body.message_(), _target(body)))


@router.post("/notify/send/<driver>", responses=SENT)
def send_with(driver: str, body: Annotated[SendRequest, Body()]) -> Response[SendOutcome]:
    return _answer(services.api_notify_service().send_direct(body.message_(), _target(body, driver)))


@router.post("/notify/batch")
def batch(body: Annotated[BatchRequest, Body()]) -> BatchOutcome:
    notify = services.api_notify_service()
    items = [(req.message_(), _target(req)) for req in body.notifications]  # every target valid before any send
    results = [SendOutcome.model_validate(r) for r in notify.send_many(items)]
    ok = sum(1 for r in results if r.success)
    return BatchOutcome(results=results, total=len(results), succeeded=ok, failed=len(results) - ok)


@router.get("/notify/channels")
def list_channels() -> ChannelList:
    return ChannelList.model_validate(services.notify_service().list_channels())


@router.post("/notify/channels", status_code=201)
def create_channel(body: Annotated[ChannelInput, Body()]) -> ChannelOut:
    return ChannelOut.model_validate(services.notify_service().create_channel(body))


@router.get("/notify/channels/<name>")
def get_channel_(name: str) -> ChannelOut:
    return ChannelOut.model_validate(services.notify_service().get_channel(name))


@router.put("/notify/channels/<name>")
def replace_channel(name: str, body: Annotated[ChannelInput, Body()]) -> ChannelOut:
    return ChannelOut.model_validate(services.notify_service().replace_channel(name, body))


@router.delete("/notify/channels/<name>", responses={204: {"description": "deleted"}})
def delete_channel(name: str):  # noqa: ANN201 - a 204 Response, unannotated for the OpenAPI validator
    services.notify_service().delete_channel(name)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")
