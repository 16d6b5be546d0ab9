"""``create_app(settings)``: the one place where otpgate is wired together."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from litestar.datastructures import State
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.logging import LoggingConfig
from litestar.logging.config import default_handlers

from app import __version__
from app.abuse.api import AbuseController
from app.apps.api import AppsController
from app.apps.keys_api import ApiKeysController
from app.apps.numbers_api import SafeNumbersController, TestNumbersController
from app.dashboard import dashboard_router, template_config
from app.delivery.api import AdminDeliveryController, CallbackController, InboundController
from app.delivery.optouts_api import OptOutsController
from app.dev.outbox import TEMPLATES as OUTBOX_TEMPLATES
from app.dev.outbox import OutboxController, outbox_assets
from app.factors.api import FactorsController
from app.http.access import ObservedApp
from app.http.openapi import DocumentedStructs, openapi_config
from app.http.problems import problem_details_plugin, problem_response
from app.http.requests import JsonSafeRequest
from app.http.route_metrics import route_metrics
from app.logs import JsonFormatter, RequestIdFilter, TextFormatter, lean_records
from app.ops.health import HealthController
from app.ops.metrics import MetricsController
from app.providers.api import ProviderController
from app.services import Services, dependencies, open_services
from app.settings import Settings, load_settings
from app.templates.api import TemplatesController
from app.twilio_verify.api import answer_unrouted
from app.twilio_verify.routes_api import twilio_router
from app.verify.api import VerificationController

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar, Request, Response


__all__ = ["create_app", "openapi_document"]

log = logging.getLogger("otpgate")
#: Client libraries whose INFO lines would print request URLs or bodies.
_QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3")


def _lifespan(settings: Settings) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: ObservedApp) -> AsyncIterator[None]:
        def swap(services: Services) -> None:
            app.state.services = services

        async with open_services(settings, swap) as services:
            app.state.services = services
            app.tracer = services.tracer
            try:
                yield
            finally:
                app.tracer = None  # the tracer is shut down next

    return lifespan


def _unrouted(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """No route or method: in Twilio's shape under /twilio, problem+json elsewhere."""
    return answer_unrouted(request, exc) or problem_response(request, exc)


def create_app(settings: Settings | None = None) -> Litestar:
    """The otpgate ASGI app for ``settings`` (read from the environment when omitted)."""
    settings = settings or load_settings()
    handlers: list[Any] = [
        VerificationController, AbuseController, ProviderController, AdminDeliveryController,
        ApiKeysController, AppsController, SafeNumbersController, TestNumbersController,
        FactorsController, TemplatesController, OptOutsController,
        CallbackController, InboundController, HealthController, MetricsController,
        twilio_router(), dashboard_router(),
    ]  # fmt: skip
    if settings.env in {"dev", "test"}:
        handlers += [OutboxController, outbox_assets()]
    return ObservedApp(
        route_handlers=handlers,
        lifespan=[_lifespan(settings)],
        dependencies=dependencies(),
        plugins=[problem_details_plugin(), DocumentedStructs()],
        exception_handlers={NotFoundException: _unrouted, MethodNotAllowedException: _unrouted},
        middleware=[route_metrics],
        openapi_config=openapi_config(__version__),
        template_config=template_config([OUTBOX_TEMPLATES]),
        logging_config=_logging(settings),
        request_max_body_size=settings.max_body_size,
        request_class=JsonSafeRequest,
        state=State({"settings": settings}),
    )


def _logging(settings: Settings) -> LoggingConfig:
    """Every line through one queue handler that stamps the request id, formatted as
    JSON lines (prod's default) or text."""
    lean_records()
    formatter = {"()": JsonFormatter if settings.json_logs else TextFormatter}
    handler = {**default_handlers["queue_listener"], "formatter": "otpgate",
               "filters": ["request_id"]}  # fmt: skip
    return LoggingConfig(
        formatters={"otpgate": formatter},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={"queue_listener": handler},
        root={"level": "WARNING", "handlers": ["queue_listener"]},
        loggers={
            "otpgate": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
            "litestar": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
            # HTTP clients log every request's URL at INFO; Alibaba's signed query
            # carries the number and the code, so they speak only of problems.
            **{name: {"level": "WARNING"} for name in _QUIET_LIBRARY_LOGGERS},
        },
    )


def openapi_document() -> str:
    """The OpenAPI document of the app, as written to ``openapi.json``."""
    app = create_app(load_settings({}, overrides={"redis_url": "redis://unused"}))
    return (
        json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )
