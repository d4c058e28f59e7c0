"""JSON schemas for kubeconform, made offline.

kubeconform validates manifests against JSON schemas that it normally downloads
from GitHub (yannh/kubernetes-json-schema), which this project's machines
cannot reach. Those schemas are made by openapi2jsonschema from the
``api/openapi-spec/swagger.json`` that Kubernetes checks in; the same file
ships in the ``k8s.io/kubernetes`` Go module that hack/build-tools.sh already
downloads to build kube-apiserver. This module converts it, for the exact
pinned release, into kubeconform's folder layout::

    OUT/v1.37.2-standalone/deployment-apps-v1.json
    OUT/v1.37.2-standalone-strict/deployment-apps-v1.json
    OUT/master-standalone[-strict] -> v1.37.2-standalone[-strict]

so that ``kubeconform -schema-location OUT`` works with or without
``-kubernetes-version 1.37.2``. It also converts CustomResourceDefinitions
(kubeconform's scripts/openapi2jsonschema.py does the same) for
``-schema-location 'DIR/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'``.

What the conversion does, as openapi2jsonschema ``--kubernetes --expanded
--stand-alone [--strict]`` does, with two deliberate differences noted:

* every ``$ref`` is inlined, so one file is a complete schema; a type that
  contains itself (only ``JSONSchemaProps``) is kept once under
  ``definitions`` and referred to, where openapi2jsonschema cannot write it;
* ``IntOrString`` accepts a string or an integer and ``Quantity`` a string or
  a number, as every Kubernetes client does;
* ``apiVersion`` and ``kind`` of a top-level kind are restricted to its
  group/version/kind;
* ``-strict`` variant: ``additionalProperties: false`` wherever ``properties``
  are declared, so a misspelt field is an error (kubectl's old client-side
  validation);
* an optional field (not in its object's ``required``) may be ``null``,
  at every depth, since the API server treats ``null`` as "not set" there
  (openapi2jsonschema does this only for top-level fields, which is why
  ``creationTimestamp: null`` in nested templates trips it).

Only the standard library is used: build-tools.sh runs this with a bare
``python3``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "crd_schemas",
    "kubernetes_schemas",
    "main",
    "schema_file_name",
    "write_crd_schemas",
    "write_kubernetes_schemas",
]

JSON = dict[str, Any]

_DEF_PREFIX = "#/definitions/"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def schema_file_name(kind: str, api_version: str) -> str:
    """kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json`` for a kind.

    ``Deployment``, ``apps/v1`` → ``deployment-apps-v1.json``;
    ``ClusterRole``, ``rbac.authorization.k8s.io/v1`` → ``clusterrole-rbac-v1.json``;
    ``Pod``, ``v1`` → ``pod-v1.json`` (registry.go's schemaPath).
    """
    group_parts = api_version.split("/")
    suffix = "-" + group_parts[0].split(".")[0].lower()
    if len(group_parts) > 1:
        suffix += "-" + group_parts[1].lower()
    return f"{kind.lower()}{suffix}.json"


def _ref_name(node: Mapping[str, Any]) -> str | None:
    # JSONSchemaProps has a *property* called "$ref" whose value is a schema
    # (a dict): only a string value is a reference.
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith(_DEF_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r}")
        return ref[len(_DEF_PREFIX) :]
    return None


class _Inliner:
    """Inlines ``#/definitions/...`` references of one swagger document."""

    def __init__(self, definitions: Mapping[str, JSON], *, strict: bool) -> None:
        self._definitions = definitions
        self._strict = strict

    def standalone(self, name: str) -> JSON:
        """The complete schema of definition ``name``, with no outside reference."""
        recursive: set[str] = set()
        schema: JSON = self._inline(self._definitions[name], (name,), recursive)
        # A type that contains itself cannot be inlined: keep one copy of it
        # under "definitions" (and of what it needs in turn).
        local: dict[str, JSON] = {}
        pending = sorted(recursive)
        while pending:
            dep = pending.pop()
            if dep in local:
                continue
            more: set[str] = set()
            local[dep] = self._inline(self._definitions[dep], (dep,), more)
            pending.extend(sorted(more - local.keys()))
        if local:
            schema["definitions"] = local
        return schema

    def _inline(self, node: Any, stack: tuple[str, ...], recursive: set[str]) -> Any:
        if isinstance(node, list):
            return [self._inline(item, stack, recursive) for item in node]
        if not isinstance(node, dict):
            return node
        ref = _ref_name(node)
        if ref is not None:
            if ref in stack:
                recursive.add(ref)
                return {"$ref": _DEF_PREFIX + ref}
            target = self._inline(self._definitions[ref], (*stack, ref), recursive)
            # Siblings of $ref (a field's own description) describe the field
            # better than the type's; validation keywords come from the type.
            if isinstance(node.get("description"), str):
                target["description"] = node["description"]
            return target
        out: JSON = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    prop: self._inline(sub, stack, recursive) for prop, sub in value.items()
                }
            else:
                out[key] = self._inline(value, stack, recursive)
        return _finish_object(out, strict=self._strict)


def _finish_object(schema: JSON, *, strict: bool) -> JSON:
    """Null for optional fields; ``additionalProperties: false`` when strict."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    required = set(schema.get("required", []))
    schema["properties"] = {
        name: sub if name in required or not isinstance(sub, dict) else _nullable(sub)
        for name, sub in properties.items()
    }
    if strict and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    return schema


def _nullable(schema: JSON) -> JSON:
    kind = schema.get("type")
    if isinstance(kind, str):
        if kind != "null":
            return {**schema, "type": [kind, "null"]}
        return schema
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and {"type": "null"} not in one_of:
        return {**schema, "oneOf": [*one_of, {"type": "null"}]}
    return schema


def _int_or_string(node: Any) -> Any:
    """Replace ``format: int-or-string`` (also inline ones) by a oneOf."""
    if isinstance(node, list):
        return [_int_or_string(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string") is True:
        out: JSON = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        if isinstance(node.get("description"), str):
            out["description"] = node["description"]
        return out
    return {key: _int_or_string(value) for key, value in node.items()}


def _prepared_definitions(swagger: Mapping[str, Any]) -> dict[str, JSON]:
    definitions: dict[str, JSON] = copy.deepcopy(dict(swagger["definitions"]))
    definitions[_INT_OR_STRING] = {
        "description": definitions.get(_INT_OR_STRING, {}).get("description", ""),
        "oneOf": [{"type": "string"}, {"type": "integer"}],
    }
    definitions[_QUANTITY] = {
        "description": definitions.get(_QUANTITY, {}).get("description", ""),
        "oneOf": [{"type": "string"}, {"type": "number"}],
    }
    return {name: _int_or_string(schema) for name, schema in definitions.items()}


def _gvks(schema: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for gvk in schema.get("x-kubernetes-group-version-kind", []):
        group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
        found.append((group, version, kind))
    return found


def kubernetes_schemas(swagger: Mapping[str, Any], *, strict: bool) -> Iterator[tuple[str, JSON]]:
    """Yield ``(file name, schema)`` for every kind in a Kubernetes swagger.json."""
    definitions = _prepared_definitions(swagger)
    inliner = _Inliner(definitions, strict=strict)
    for name in sorted(definitions):
        gvks = _gvks(definitions[name])
        if not gvks:
            continue
        base = inliner.standalone(name)
        for group, version, kind in gvks:
            api_version = f"{group}/{version}" if group else version
            schema = copy.deepcopy(base)
            properties = schema.get("properties", {})
            # A kind's own apiVersion and kind are the only valid values (and
            # required: kubeconform found this file through them).
            for field, value in (("apiVersion", api_version), ("kind", kind)):
                if field in properties:
                    properties[field] = {**properties[field], "type": "string", "enum": [value]}
            schema.setdefault("type", "object")
            yield schema_file_name(kind, api_version), schema


def crd_schemas(documents: Iterable[Any], *, strict: bool = False) -> Iterator[tuple[str, JSON]]:
    """Yield ``(kind_version.json, schema)`` per served version of each CRD.

    ``documents`` are parsed YAML/JSON documents; anything that is not a
    ``CustomResourceDefinition`` (or a List of them) is ignored. File names
    follow kubeconform's ``{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json``.
    With ``strict`` unknown fields are errors at every level, the root too.
    """
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        listed = doc.get("items")
        items: list[Any] = listed if isinstance(listed, list) else [doc]
        for crd in items:
            if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            kind = spec["names"]["kind"]
            for version in spec.get("versions", []):
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if not isinstance(schema, dict):
                    continue
                converted = _crd_schema(_int_or_string(schema), strict=strict)
                props = converted.setdefault("properties", {})
                api_version = f"{spec['group']}/{version['name']}"
                props["apiVersion"] = {"type": "string", "enum": [api_version]}
                props["kind"] = {"type": "string", "enum": [kind]}
                props.setdefault("metadata", {"type": "object"})
                yield f"{kind.lower()}_{version['name'].lower()}.json", converted


def _crd_schema(node: Any, *, strict: bool) -> Any:
    if isinstance(node, list):
        return [_crd_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {prop: _crd_schema(sub, strict=strict) for prop, sub in value.items()}
        else:
            out[key] = _crd_schema(value, strict=strict)
    if out.get("nullable") is True:
        out = _nullable(out)
    # x-kubernetes-preserve-unknown-fields keeps unknown fields, strict or not.
    if (
        strict
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and out.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        out["additionalProperties"] = False
    return out


def _write(out_dir: Path, files: Iterable[tuple[str, JSON]]) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, schema in files:
        (out_dir / name).write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))
        count += 1
    return count


def write_kubernetes_schemas(swagger_path: Path, out_dir: Path, kubernetes_version: str) -> int:
    """Write kubeconform's folders for one release under ``out_dir``.

    Returns the number of files written. ``kubernetes_version`` is like
    ``v1.37.2``; ``master-standalone[-strict]`` link to the same folders, so
    kubeconform's default ``-kubernetes-version master`` finds them too.
    """
    version = kubernetes_version if kubernetes_version.startswith("v") else "v" + kubernetes_version
    swagger = json.loads(swagger_path.read_text())
    count = 0
    for suffix, strict in (("", False), ("-strict", True)):
        folder = f"{version}-standalone{suffix}"
        count += _write(out_dir / folder, kubernetes_schemas(swagger, strict=strict))
        link = out_dir / f"master-standalone{suffix}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(folder)
    return count


def write_crd_schemas(crd_files: Sequence[Path], out_dir: Path, *, strict: bool = False) -> int:
    """Convert CRD YAML files into kubeconform schemas in ``out_dir``."""
    import yaml  # only this function needs PyYAML

    documents: list[Any] = []
    for path in crd_files:
        with path.open() as stream:
            documents.extend(yaml.safe_load_all(stream))
    return _write(out_dir, crd_schemas(documents, strict=strict))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m awsorg_localcluster.kubeschemas",
        description="Make kubeconform JSON schemas offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    k8s = sub.add_parser("kubernetes", help="from Kubernetes' api/openapi-spec/swagger.json")
    k8s.add_argument("swagger", type=Path)
    k8s.add_argument("out_dir", type=Path)
    k8s.add_argument("--kubernetes-version", required=True, help="e.g. v1.37.2")
    crd = sub.add_parser("crd", help="from CustomResourceDefinition YAML files")
    crd.add_argument("out_dir", type=Path)
    crd.add_argument("crd_files", type=Path, nargs="+")
    crd.add_argument("--strict", action="store_true", help="unknown fields are errors")
    args = parser.parse_args(argv)
    if args.command == "kubernetes":
        count = write_kubernetes_schemas(args.swagger, args.out_dir, args.kubernetes_version)
    else:
        count = write_crd_schemas(args.crd_files, args.out_dir, strict=args.strict)
    print(f"wrote {count} schemas to {os.fspath(args.out_dir)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
