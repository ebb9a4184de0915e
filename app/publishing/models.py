"""Releases: numbered, immutable snapshots of a year's published figures."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JsonDocType, UTCDateTime, utcnow


class Release(SQLModel, table=True):
    """One release: its figures as they were computed when it was made, the returns (school,
    revision) they came from, and a digest of both. Rows are written once and never updated."""

    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("form_code", "year", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    form_code: str = Field(max_length=64)
    year: int = Field(sa_column=Column(Integer, ForeignKey("school_year.year"), nullable=False))
    number: int = Field(description="1, 2, … per form and year.")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("app_user.id"))
    )
    note: str = Field(default="", sa_column=Column(String(500), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    # {"coverage": …, "indicators": [rows], "aggregates": {element: [rows]}}
    figures: dict[str, Any] = Field(sa_column=Column(JsonDocType, nullable=False))
    # [[school code, revision], …] in school order
    returns: list[Any] = Field(sa_column=Column(JsonDocType, nullable=False))


class Dhis2Mapping(SQLModel, table=True):
    """How our codes become a DHIS2 instance's ids, loaded by an administrator: `value` rows map
    a figure key (`GER|primary|sex=F`, `ENROLMENT||grade=P1,sex=F`) to a data element and a
    category option combo; `org_unit` rows map an admin unit code to an org unit."""

    __tablename__ = "dhis2_mapping"
    __table_args__ = (UniqueConstraint("kind", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # value | org_unit | data_set
    source: str = Field(max_length=200)
    dhis2_id: str = Field(max_length=11)
    category_option_combo: str | None = Field(default=None, max_length=11)


class WebhookSubscription(SQLModel, table=True):
    """A system of the ministry that wants to hear of events (a release published)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(String(500), nullable=False))
    # The shared secret the body is signed with; the subscriber keeps the same one.
    secret: str = Field(sa_column=Column(String(200), nullable=False))
    events: list[str] = Field(sa_column=Column(JsonDocType, nullable=False))
    active: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one event for one subscriber, written in the same transaction as the event,
    delivered at least once by `emis worker` (a lease lets another worker take it over when the
    one that claimed it dies)."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False
        )
    )
    event: str = Field(max_length=40)
    body: str = Field(sa_column=Column(String, nullable=False))  # the exact bytes sent (UTF-8)
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    leased_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    last_error: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class WebhookAttempt(SQLModel, table=True):
    """Every attempt to deliver, with what came back."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("webhook_delivery.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    error: str = Field(default="", sa_column=Column(String(500), nullable=False))
    duration_ms: int = 0
