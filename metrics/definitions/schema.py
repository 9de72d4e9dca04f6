"""JSON Schemas of the project's YAML files, generated from the pydantic models (for editors)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from connectors.models import SourcesFile
from metrics.definitions.alerts import AlertsFile
from metrics.definitions.models import AnnotationsFile, MetricsFile, OkrsFile, ProjectConfig

MODELS: dict[str, type[BaseModel]] = {
    "project": ProjectConfig,
    "sources": SourcesFile,
    "metrics": MetricsFile,
    "okrs": OkrsFile,
    "alerts": AlertsFile,
    "annotations": AnnotationsFile,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File stem -> JSON Schema (draft 2020-12) of that YAML file."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in MODELS.items():
        document = model.model_json_schema(mode="validation")
        document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        document["title"] = f"Northstar {name}.yaml"
        out[name] = document
    return out
