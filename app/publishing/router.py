"""Release endpoints: make one, list them, read one, compare it, export it."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response

from app.core.bounds import MAX_INT
from app.core.deps import SessionDep, UowDep
from app.core.media import JSON_BODY
from app.core.problem_docs import problem_responses
from app.publishing import exports, service, webhooks
from app.publishing.models import Release, WebhookSubscription
from app.publishing.permissions import Publisher, ReleaseReader, WebhookManager
from app.publishing.schemas import (
    AttemptPublic,
    DeliveryList,
    DeliveryPublic,
    RedeliveryPublic,
    ReleaseChanges,
    ReleaseCreate,
    ReleaseList,
    ReleasePublic,
    ReleaseSummary,
    WebhookCreate,
    WebhookList,
    WebhookPublic,
)

router = APIRouter(prefix="/api/v1/releases", tags=["publication"])
ReleaseId = Annotated[int, Path(ge=1, le=MAX_INT, examples=[1])]


def _summary(r: Release) -> dict[str, Any]:
    return {
        "id": r.id,
        "form": r.form_code,
        "year": r.year,
        "number": r.number,
        "created_at": r.created_at,
        "note": r.note,
        "digest": r.digest,
        "coverage": r.figures.get("coverage", {}),
    }


@router.post(
    "",
    response_model=ReleaseSummary,
    status_code=201,
    dependencies=[JSON_BODY],
    summary="Make the next release of a year's figures from its approved returns",
    description=(service.__doc__ or "").split("\n\n", 1)[1],
    responses=problem_responses(
        403,
        404,
        409,
        s403="Only national analysts and administrators publish.",
        s404="No such school year.",
        s409="No approved return, or nothing changed since the last release.",
    ),
)
def create(body: ReleaseCreate, user: Publisher, uow: UowDep) -> ReleaseSummary:
    release = service.create_release(
        uow, user, form=body.form, year=body.year, note=body.note or ""
    )
    return ReleaseSummary.model_validate(_summary(release))


@router.get("", response_model=ReleaseList, summary="Every release, oldest first")
def list_all(
    session: SessionDep,
    _user: ReleaseReader,
    form: Annotated[
        str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    ] = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> ReleaseList:
    return ReleaseList.model_validate(
        {"items": [_summary(r) for r in service.list_releases(session, form, year)]}
    )


@router.get(
    "/{release_id}",
    response_model=ReleasePublic,
    summary="One release: its figures (the rows of your area) and the returns it came from",
    responses=problem_responses(404, s404="No such release."),
)
def get_one(release_id: ReleaseId, session: SessionDep, user: ReleaseReader) -> ReleasePublic:
    release = service.get_release(session, release_id)
    rows = service.rows_for(session, user, release)
    return ReleasePublic.model_validate(
        {
            **_summary(release),
            "returns": release.returns,
            "indicators": rows["indicators"],
            "aggregates": rows["aggregates"],
        }
    )


@router.get(
    "/{release_id}/changes",
    response_model=ReleaseChanges,
    summary="What changed since the previous release (by unit and indicator)",
    responses=problem_responses(404, s404="No such release."),
)
def changes(release_id: ReleaseId, session: SessionDep, user: ReleaseReader) -> ReleaseChanges:
    release = service.get_release(session, release_id)
    return ReleaseChanges.model_validate(service.compare(session, user, release))


@router.get(
    "/{release_id}/export",
    summary="A release as a file: csv, sdmx-csv (SDMX-CSV 2.0, UIS layout) or dhis2",
    description="`dhis2` is a dataValueSet (`dataSet`, `period`, `orgUnit`, `dataValues` with "
    "`dataElement`, `categoryOptionCombo`, `orgUnit`, `value`) through the administrator's "
    "mapping (`emis publish dhis2-mapping`); figures the mapping does not name are not sent, "
    "their count is in `X-EMIS-Unmapped` and `dhis2-unmapped` lists them. 409 without a mapping.",
    response_class=Response,
    responses={
        **problem_responses(
            404, 409, s404="No such release.", s409="dhis2: no DHIS2 mapping is loaded."
        ),
        200: {
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "example": {
                        "dataSet": "pBOMPrpg1QX",
                        "period": "2025",
                        "orgUnit": "ImspTQPwCqd",
                        "dataValues": [
                            {
                                "dataElement": "s46m5MS0hxu",
                                "categoryOptionCombo": "Prlt0C1RF0s",
                                "orgUnit": "O6uvpzGd5pu",
                                "value": "98.2",
                            }
                        ],
                    },
                },
                "text/plain": {"schema": {"type": "string"}, "example": "GER|primary| @ DM\n"},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "STRUCTURE,STRUCTURE_ID,ACTION,STAT_UNIT,…\n",
                },
            }
        },
    },
)
def export(
    release_id: ReleaseId,
    session: SessionDep,
    user: ReleaseReader,
    format: Annotated[str, Query(pattern="^(csv|sdmx-csv|dhis2|dhis2-unmapped)$")] = "csv",
) -> Response:
    release = service.get_release(session, release_id)
    if format.startswith("dhis2"):
        body_json, unmapped = service.dhis2_export(session, user, release)
        if format == "dhis2-unmapped":
            return Response(
                "figure|education_level|disaggregation @ unit\n" + "\n".join(unmapped) + "\n",
                media_type="text/plain; charset=utf-8",
            )
        return Response(
            orjson.dumps(body_json),
            media_type="application/json",
            headers={"X-EMIS-Unmapped": str(len(unmapped))},
        )
    rows = service.rows_for(session, user, release)
    sdmx = format == "sdmx-csv"
    body = exports.sdmx_csv(rows, release.year) if sdmx else exports.plain_csv(rows)
    name = f"release-{release.form_code}-{release.year}-{release.number}.{format}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


hooks = APIRouter(prefix="/api/v1/webhooks", tags=["publication"])


def _hook(s: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic(
        id=s.id or 0, url=s.url, events=s.events, active=s.active, created_at=s.created_at
    )


@hooks.post(
    "",
    response_model=WebhookPublic,
    status_code=201,
    dependencies=[JSON_BODY],
    summary="Subscribe a system to events (administrators)",
    description=(webhooks.__doc__ or "").split("\n\n", 1)[1],
    responses=problem_responses(403, s403="Only administrators manage webhooks."),
)
def create_hook(body: WebhookCreate, _admin: WebhookManager, uow: UowDep) -> WebhookPublic:
    return _hook(webhooks.subscribe(uow, body.url, body.secret, list(body.events)))


@hooks.get("", response_model=WebhookList, summary="Subscriptions (secrets are never shown)")
def list_hooks(session: SessionDep, _admin: WebhookManager) -> WebhookList:
    return WebhookList(items=[_hook(s) for s in webhooks.subscriptions(session)])


@hooks.delete(
    "/{hook_id}",
    status_code=204,
    summary="Stop a subscription",
    responses=problem_responses(404, s404="No such subscription."),
)
def delete_hook(hook_id: ReleaseId, _admin: WebhookManager, uow: UowDep) -> Response:
    webhooks.unsubscribe(uow, hook_id)
    return Response(status_code=204)


@hooks.get(
    "/{hook_id}/deliveries",
    response_model=DeliveryList,
    summary="A subscription's deliveries, each with every attempt",
)
def list_deliveries(
    hook_id: ReleaseId, session: SessionDep, _admin: WebhookManager
) -> DeliveryList:
    return DeliveryList(
        items=[
            DeliveryPublic(
                id=d.id or 0,
                event=d.event,
                status=d.status,
                attempts=[
                    AttemptPublic(
                        at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                    )
                    for a in attempts
                ],
                next_attempt_at=d.next_attempt_at,
                delivered_at=d.delivered_at,
            )
            for d, attempts in webhooks.deliveries(session, hook_id)
        ]
    )


@hooks.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=RedeliveryPublic,
    summary="Deliver again (the subscriber lost it); the worker sends it shortly",
    responses=problem_responses(404, s404="No such delivery."),
)
def redeliver(delivery_id: ReleaseId, _admin: WebhookManager, uow: UowDep) -> RedeliveryPublic:
    d = webhooks.redeliver(uow, delivery_id)
    return RedeliveryPublic(id=d.id or 0, status=d.status, next_attempt_at=d.next_attempt_at)
