"""Routes for an app's message templates: list, read, save, delete, submit for review,
refresh the review, preview, audit.

A ``read`` key lists, reads and previews its own app's templates; an ``admin`` key
changes them; an ``operator`` key does either for any app. A key of one app gets 403 for
every template of another.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey
from app.http.contract import API_KEY_PROBLEMS, problems
from app.store.templates import StoredTemplate
from app.templates.models import (
    LOCALE_PATTERN,
    PURPOSE_PATTERN,
    TemplateAudits,
    TemplateInput,
    TemplatePreview,
    Templates,
)
from app.templates.service import TemplateService

__all__ = ["TemplatesController"]

AppName = Annotated[str, PathParameter(description="The app (the key's own, unless operator).")]
Purpose = Annotated[
    str, PathParameter(pattern=PURPOSE_PATTERN, description="The verifications' purpose.")
]
Locale = Annotated[
    str, PathParameter(pattern=LOCALE_PATTERN, description="The locale (`en`, `zh-CN`, …).")
]
ONE = "/{purpose:str}/{locale:str}"
READ = (*API_KEY_PROBLEMS, "invalid_request", "app_not_found", "template_not_found")
REVIEW = (*READ, "template_changed", "provider_review_failed")


class TemplatesController(Controller):
    path = "/v1/apps/{app:str}/templates"
    tags = ["templates"]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, TemplateService]

    @get(
        "/",
        operation_id="listTemplates",
        summary="The app's templates, with their review states",
        guards=[requires_scope("read")],
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def list_templates(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> Templates:
        return await templates.of_app(app_for(request.user, app))

    @get(
        "/audit",
        operation_id="getTemplateAudit",
        summary="Who changed the app's templates, and how",
        guards=[requires_scope("admin")],
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def audit(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> TemplateAudits:
        return TemplateAudits(await templates.audit(app_for(request.user, app)))

    @get(
        ONE,
        operation_id="getTemplate",
        summary="A template",
        guards=[requires_scope("read")],
        **problems(*READ),
    )
    async def get_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> StoredTemplate:
        return await templates.get(app_for(request.user, app), purpose, locale)

    @put(
        ONE,
        operation_id="saveTemplate",
        summary="Create or change a template (a draft again, unless nothing changed)",
        guards=[requires_scope("admin")],
        **problems(*READ, "payload_too_large", "invalid_template", "template_changed"),
    )
    async def save_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        data: JSONBody[TemplateInput],
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> StoredTemplate:
        owner = app_for(request.user, app)
        return await templates.save(owner, purpose, locale, data, request.user.id)

    @delete(
        ONE,
        operation_id="deleteTemplate",
        summary="Delete a template (the file's text is sent again)",
        status_code=200,
        guards=[requires_scope("admin")],
        **problems(*READ, "template_changed"),
    )
    async def delete_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> StoredTemplate:
        return await templates.delete(app_for(request.user, app), purpose, locale, request.user.id)

    @post(
        f"{ONE}/submit",
        operation_id="submitTemplate",
        summary="Submit a template for review by the providers that review templates",
        status_code=200,
        guards=[requires_scope("admin")],
        **problems(*REVIEW, "template_already_submitted"),
    )
    async def submit_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> StoredTemplate:
        return await templates.submit(app_for(request.user, app), purpose, locale, request.user.id)

    @post(
        f"{ONE}/refresh",
        operation_id="refreshTemplate",
        summary="Ask the providers reviewing a template for their answer now",
        status_code=200,
        guards=[requires_scope("admin")],
        **problems(*REVIEW),
    )
    async def refresh_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> StoredTemplate:
        return await templates.refresh(app_for(request.user, app), purpose, locale, request.user.id)

    @post(
        f"{ONE}/preview",
        operation_id="previewTemplate",
        summary="A template with a sample code: its text, characters, encoding and SMS parts",
        status_code=200,
        guards=[requires_scope("read")],
        **problems(*READ),
    )
    async def preview_template(
        self,
        app: AppName,
        purpose: Purpose,
        locale: Locale,
        request: Request[ApiKey, str, Any],
        templates: NamedDependency[TemplateService],
    ) -> TemplatePreview:
        return await templates.preview(app_for(request.user, app), purpose, locale)
