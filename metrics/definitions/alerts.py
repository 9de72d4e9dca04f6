"""Pydantic models of `alerts.yaml`: the rules that watch a project, where their alerts go, and how
deliveries are retried (docs/alerts.md).

These models check the shape of one rule or destination. Whether a rule's key results, metrics,
sources and destinations exist is checked in `metrics.validation` (`check_alerts`); which fields
hold secrets (written only as `${VAR}`) is `yaml_files.is_connection_field`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.models import ID_PATTERN, StrictModel
from metrics.definitions.models import http_url

AlertId = Annotated[str, Field(pattern=ID_PATTERN)]
KrStatus = Literal["on_track", "at_risk", "off_track", "achieved", "missed"]
RULE_TYPES = ("kr_status", "kr_probability", "forecast_interval", "seasonal_deviation", "data_check")
DESTINATION_TYPES = ("slack", "webhook", "email")
# Fields of a destination that must be written as ${VAR}: they are credentials (anyone holding a
# Slack webhook URL can post to its channel).
SECRET_FIELDS = frozenset({"url", "password"})
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _off_track() -> list[KrStatus]:
    return ["off_track"]


class _Rule(StrictModel):
    description: str = ""
    notify: list[AlertId] = Field(min_length=1, description="Destination ids (under `destinations:`).")


class KrStatusRule(_Rule):
    """Fires while a key result's status is one of `status` (so, once, when it turns to one)."""

    when: Literal["kr_status"]
    key_results: list[AlertId] | None = Field(default=None, description="Default: every key result.")
    status: list[KrStatus] = Field(default_factory=_off_track, min_length=1)


class KrProbabilityRule(_Rule):
    """Fires while a key result's probability of landing is below `below`."""

    when: Literal["kr_probability"]
    key_results: list[AlertId] | None = Field(default=None, description="Default: every key result.")
    below: float = Field(gt=0, le=1, description="Fire while the probability is below this (0-1].")


class ForecastIntervalRule(_Rule):
    """Fires while a metric's day value lies outside the interval forecast for that day from the
    days before it."""

    when: Literal["forecast_interval"]
    metrics: list[AlertId] = Field(min_length=1)
    coverage: float = Field(default=0.95, ge=0.5, le=0.999, description="The interval's coverage.")
    history_days: int = Field(default=56, ge=21, le=366, description="Days of history the forecast fits.")


class SeasonalDeviationRule(_Rule):
    """Fires while a metric's day value is more than `threshold` robust deviations from the median
    of the same weekday over the `weeks` weeks before."""

    when: Literal["seasonal_deviation"]
    metrics: list[AlertId] = Field(min_length=1)
    threshold: float = Field(default=3.5, gt=0, le=100, description="Robust deviations (MAD-based z).")
    weeks: int = Field(default=8, ge=3, le=52, description="Same weekdays that make the norm.")
    direction: Literal["any", "up", "down"] = "any"


class DataCheckRule(_Rule):
    """Fires while a data check fails (of severity error; `severity: warn` adds warnings)."""

    when: Literal["data_check"]
    sources: list[AlertId] | None = Field(default=None, description="Default: every source.")
    severity: Literal["error", "warn"] = Field(
        default="error", description="error: failing error checks; warn: warnings too."
    )


Rule = Annotated[
    KrStatusRule | KrProbabilityRule | ForecastIntervalRule | SeasonalDeviationRule | DataCheckRule,
    Field(discriminator="when"),
]
RULE_MODELS = (KrStatusRule, KrProbabilityRule, ForecastIntervalRule, SeasonalDeviationRule, DataCheckRule)


class SlackDestination(StrictModel):
    """A Slack incoming webhook (or any service that takes Slack's `{"text", "blocks"}` body)."""

    type: Literal["slack"]
    url: SecretStr = Field(description="Write it as ${VAR}: the URL is the credential.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: SecretStr) -> SecretStr:
        return SecretStr(_web_url(value.get_secret_value()))


class WebhookDestination(StrictModel):
    """Any HTTP endpoint: a generic JSON body (docs/alerts.md)."""

    type: Literal["webhook"]
    url: SecretStr = Field(description="Write it as ${VAR}: it may carry a token.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: SecretStr) -> SecretStr:
        return SecretStr(_web_url(value.get_secret_value()))


class EmailDestination(StrictModel):
    """Email over SMTP (Python's smtplib)."""

    type: Literal["email"]
    host: str = Field(min_length=1, description="The SMTP server.")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Default: 465 for ssl, else 587 (25 for none)."
    )
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = Field(default=None, description="Write it as ${VAR}.")
    sender: str = Field(alias="from", description="The From: address.")
    to: list[str] = Field(min_length=1)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _no_login_in_the_clear(self) -> EmailDestination:
        if self.security == "none" and (self.username is not None or self.password is not None):
            raise ValueError(
                "a login is never sent in the clear: with a username or password use security: starttls "
                "or ssl (security: none is for a relay on the same machine or network that needs no login)"
            )
        return self

    @property
    def smtp_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"ssl": 465, "starttls": 587, "none": 25}[self.security]


def _address(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _web_url(value: str) -> str:
    try:
        return http_url(value)
    except ValueError:
        raise ValueError("the url is not an http(s) URL") from None  # never quote it: it is a secret


Destination = Annotated[
    SlackDestination | WebhookDestination | EmailDestination,
    Field(discriminator="type"),
]
DESTINATION_MODELS = (SlackDestination, WebhookDestination, EmailDestination)


class DeliverySettings(StrictModel):
    """How a failed delivery is retried: attempts after the first, waiting base, 2x base, 4x base ...
    seconds between them, never more than `max_backoff_seconds`."""

    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=2.0, ge=0, le=300)
    max_backoff_seconds: float = Field(default=60.0, ge=0, le=3600)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Per attempt.")

    def waits(self) -> list[float]:
        """The pauses before each retry: exponential, capped."""
        return [min(self.max_backoff_seconds, self.backoff_seconds * 2**i) for i in range(self.retries)]


class AlertsFile(StrictModel):
    """The whole of alerts.yaml (for the JSON Schema; loading reads each rule and destination apart)."""

    rules: dict[AlertId, Rule] = Field(default_factory=dict)
    destinations: dict[AlertId, Destination] = Field(default_factory=dict)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


@dataclass(frozen=True)
class AlertsConfig:
    """A loaded alerts.yaml: its valid rules and destinations (a rule whose destination is unknown is
    left out; `Project.problems` says why) and the delivery settings."""

    rules: Mapping[str, Rule] = field(default_factory=dict)
    destinations: Mapping[str, Destination] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)


__all__ = [
    "DESTINATION_MODELS",
    "DESTINATION_TYPES",
    "RULE_MODELS",
    "RULE_TYPES",
    "SECRET_FIELDS",
    "AlertsConfig",
    "AlertsFile",
    "DataCheckRule",
    "DeliverySettings",
    "Destination",
    "EmailDestination",
    "ForecastIntervalRule",
    "KrProbabilityRule",
    "KrStatusRule",
    "Rule",
    "SeasonalDeviationRule",
    "SlackDestination",
    "WebhookDestination",
]
