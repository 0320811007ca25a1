"""A typed check of ``spec.template``: the parts of a PodTemplateSpec that Ripcord itself reads.

``spec.template`` is kept by the CRD schema as-is (``x-kubernetes-preserve-unknown-fields``),
so the API server stores ``template.metadata: "web"`` or ``template.spec.volumes: ["junk"]``.
Ripcord reads labels and annotations (it adds its own), and the ConfigMaps and Secrets the
pods use (they are part of the template hash): those parts are checked here, with their
types, before anything uses the template. The whole template is then checked the way the
Kubernetes client checks what it sends; what the API server alone can judge (names,
values, references) it judges in the dry run Ripcord asks for before it creates a
Deployment from the template.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr

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

    Two checks: the parts Ripcord reads (these models), and the whole template as the
    Kubernetes client will send it. The client (kubernetes >= 37) validates every request
    body against its own models before sending, so a template it refuses (an unknown
    field, ``ports`` given as a map, a quantity given as a number) could never become a
    Deployment: it raised in every reconcile. Here it becomes an InvalidSpec naming the field.
    """
    typed = PodTemplate.model_validate(template)
    client_model = _client_pod_template_model()
    if client_model is not None:
        client_model.model_validate(template)
    return typed


def _client_pod_template_model() -> Optional[Any]:
    """The kubernetes client's V1PodTemplateSpec when it validates what it sends (pydantic models), else None."""
    from kubernetes import client
    model = getattr(client, "V1PodTemplateSpec", None)
    return model if model is not None and hasattr(model, "model_validate") else None
