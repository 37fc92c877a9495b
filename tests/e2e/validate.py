"""Validate a JSON document against a schemas/ file or an OpenAPI component.

usage: validate.py schema SCHEMA_FILE DOC.json
       validate.py openapi COMPONENT DOC.json
Runs with Debian's /usr/bin/python3 (python3-jsonschema, python3-yaml):
an independent validator, so the tool's own one is not checking itself.
"""
import json
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "schemas")


def main():
    mode, what, doc_path = sys.argv[1:4]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    if mode == "schema":
        with open(os.path.join(SCHEMAS, what), encoding="utf-8") as f:
            schema = json.load(f)
        root = schema
    else:
        with open(os.path.join(SCHEMAS, "clean-release-api.openapi.yaml"), encoding="utf-8") as f:
            root = yaml.safe_load(f)
        schema = {"$ref": "#/components/schemas/" + what, "components": root["components"]}
        root = schema
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    v = cls(root)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        for e in errors[:5]:
            print(f"{doc_path}: {'/'.join(str(p) for p in e.path) or '(document)'}: {e.message[:300]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
