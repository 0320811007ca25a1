"""A typed check of ``spec.template``: the parts of a PodTemplateSpec that Ripcord itself reads.

``spec.template`` is kept by the CRD schema as-is (``x-kubernetes-preserve-unknown-fields``),
so the API server stores ``template.metadata: "web"`` or ``template.spec.volumes: ["junk"]``.
Ripcord reads labels and annotations (it adds its own), and the ConfigMaps and Secrets the
pods use (they are part of the template hash): those parts are checked here, with their
types, before anything uses the template; the whole template is checked against the
kubernetes client's models (every field of a pod, so a misspelt one is named). Values, names
and references are the API server's to judge, in the dry run Ripcord asks for before it creates
a Deployment. Templates are sent as they are (``ripcord.kube.client.send``), not through the
client's models, which refuse valid Kubernetes such as ``cpu: 1``.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

MAX_LIST = 1_000  # containers, volumes, env entries: far beyond a real pod, far below what hurts


class _Part(BaseModel):
    """A part of the template: the fields Ripcord reads are typed, all others pass through."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ObjectRef(_Part):
    name: Optional[StrictStr] = None


class SecretVolume(_Part):
    secret_name: Optional[StrictStr] = Field(None, alias="secretName")


class ProjectionSource(_Part):
    config_map: Optional[ObjectRef] = Field(None, alias="configMap")
    secret: Optional[ObjectRef] = None


class Projected(_Part):
    sources: Optional[list[ProjectionSource]] = Field(None, max_length=MAX_LIST)


class Volume(_Part):
    name: StrictStr
    config_map: Optional[ObjectRef] = Field(None, alias="configMap")
    secret: Optional[SecretVolume] = None
    projected: Optional[Projected] = None


class EnvVarSource(_Part):
    config_map_key_ref: Optional[ObjectRef] = Field(None, alias="configMapKeyRef")
    secret_key_ref: Optional[ObjectRef] = Field(None, alias="secretKeyRef")


class EnvVar(_Part):
    name: StrictStr
    value: Optional[StrictStr] = None
    value_from: Optional[EnvVarSource] = Field(None, alias="valueFrom")


class EnvFromSource(_Part):
    config_map_ref: Optional[ObjectRef] = Field(None, alias="configMapRef")
    secret_ref: Optional[ObjectRef] = Field(None, alias="secretRef")


class Container(_Part):
    name: StrictStr
    env: Optional[list[EnvVar]] = Field(None, max_length=MAX_LIST)
    env_from: Optional[list[EnvFromSource]] = Field(None, alias="envFrom", max_length=MAX_LIST)


class PodSpec(_Part):
    containers: Optional[list[Container]] = Field(None, max_length=MAX_LIST)  # none: the dry run refuses it
    init_containers: Optional[list[Container]] = Field(None, alias="initContainers", max_length=MAX_LIST)
    volumes: Optional[list[Volume]] = Field(None, max_length=MAX_LIST)


class TemplateMetadata(_Part):
    labels: Optional[dict[StrictStr, StrictStr]] = None
    annotations: Optional[dict[StrictStr, StrictStr]] = None


class PodTemplate(_Part):
    metadata: Optional[TemplateMetadata] = None
    spec: Optional[PodSpec] = None


def check_pod_template(template: Mapping[str, Any]) -> PodTemplate:
    """The template's typed view; a pydantic ValidationError names the field (``spec.volumes.0``) when it is wrong.

    Two checks: the parts Ripcord reads (these models), and the whole template against the
    kubernetes client's own models, which know every field of a pod: a misspelt field
    (``imagePullPolcy``), ``ports`` given as a map, would otherwise be dropped or judged only
    by the API server. One kind of their complaints is not a mistake: a number where they want
    a string (``cpu: 1``: Kubernetes quantities and int-or-string fields take numbers) — those
    are let through, and the API server judges them in the dry run.
    """
    typed = PodTemplate.model_validate(template)
    client_model = _client_pod_template_model()
    if client_model is not None:
        try:
            client_model.model_validate(template)
        except ValidationError as exc:
            real = [e for e in exc.errors() if not _number_for_string(e)]
            if real:
                raise ValidationError.from_exception_data(exc.title, real) from None  # type: ignore[arg-type]
    return typed


def _number_for_string(error: Any) -> bool:
    return error.get("type") == "string_type" and isinstance(error.get("input"), (int, float)) \
        and not isinstance(error.get("input"), bool)


def _client_pod_template_model() -> Optional[Any]:
    """The kubernetes client's V1PodTemplateSpec when it has pydantic models, else None."""
    from kubernetes import client
    model = getattr(client, "V1PodTemplateSpec", None)
    return model if model is not None and hasattr(model, "model_validate") else None
