"""Validates JSON documents against a standard's own JSON Schemas, offline, with PyPI's jsonschema.

Usage: json_schema.py SCHEMA_DIR MAIN_SCHEMA FILE
  SCHEMA_DIR: a folder of the standard's schemas; each is registered under its own `$id` and under every URL other
  schemas use to refer to it by file name (the 360Giving package names the grant schema's 1.4.2 URL while the grant
  schema's `$id` is 1.4.3), so nothing is fetched.
  FILE: JSON {"documents": [...]}, each validated against MAIN_SCHEMA (a file name in SCHEMA_DIR).
Prints JSON: {"errors": [{"document": i, "path": "...", "message": "..."}]}; draft 2020-12, formats checked.
"""
import json
import os
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def refs(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
                out.add(value.split("#")[0])
            else:
                refs(value, out)
    elif isinstance(node, list):
        for value in node:
            refs(value, out)


def main():
    folder, main_name, path = sys.argv[1], sys.argv[2], sys.argv[3]
    schemas = {}
    for name in os.listdir(folder):
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                schemas[name] = json.load(f)
    wanted = set()
    for schema in schemas.values():
        refs(schema, wanted)
    registry = Registry()
    for name, schema in schemas.items():
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        uris = {schema.get("$id", name), name}
        uris.update(u for u in wanted if u.rsplit("/", 1)[-1] == name)
        for uri in uris:
            registry = registry.with_resource(uri, resource)
    main_schema = schemas[main_name]
    validator = Draft202012Validator(
        main_schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    with open(path, encoding="utf-8") as f:
        documents = json.load(f)["documents"]
    errors = []
    for i, document in enumerate(documents):
        for error in validator.iter_errors(document):
            errors.append({"document": i, "path": error.json_path, "message": error.message[:500]})
    print(json.dumps({"errors": errors}))


if __name__ == "__main__":
    main()
