"""Validate a JSON document against a schemas/ file or an OpenAPI component.

usage: validate.py schema SCHEMA_FILE DOC.json
       validate.py openapi COMPONENT DOC.json
       validate.py responses LOG
   LOG: lines "METHOD<TAB>URL-PATH<TAB>STATUS<TAB>BODY-FILE" of HTTP answers,
   each validated against the response the OpenAPI document declares for
   that path, method and status (a status it does not declare fails).
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


def load_openapi():
    with open(os.path.join(SCHEMAS, "clean-release-api.openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def template_of(paths, path):
    """The path template of PATH (below the base), or None."""
    segs = path.strip("/").split("/")
    for tpl in paths:
        t = tpl.strip("/").split("/")
        if len(t) == len(segs) and all(a.startswith("{") or a == b for a, b in zip(t, segs)):
            return tpl
    return None


def responses(log_path):
    root = load_openapi()
    base = root["servers"][0]["url"]
    bad = 0
    checked = 0
    with open(log_path, encoding="utf-8") as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    for method, url, status, body in lines:
        path = url.split("?", 1)[0]
        where = f"{method} {url} {status}"
        if not path.startswith(base):
            print(f"{where}: not below {base}", file=sys.stderr)
            bad += 1
            continue
        tpl = template_of(root["paths"], path[len(base):])
        op = tpl and root["paths"][tpl].get(method.lower())
        resp = op and (op["responses"].get(status) or op["responses"].get("default"))
        if not resp:
            # An unknown route or method is 404 NOT_FOUND by the contract's text.
            if status == "404" and not op:
                resp = root["components"]["responses"]["NotFound"]
            else:
                print(f"{where}: the contract declares no such response", file=sys.stderr)
                bad += 1
                continue
        if "$ref" in resp:
            resp = root["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        with open(body, encoding="utf-8") as f:
            text = f.read()
        if schema is None:
            continue
        try:
            doc = json.loads(text)
        except ValueError as e:
            print(f"{where}: not JSON: {e}", file=sys.stderr)
            bad += 1
            continue
        full = dict(schema)
        full["components"] = root["components"]
        v = jsonschema.Draft202012Validator(full)
        errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
        for e in errs[:3]:
            print(f"{where}: {'/'.join(str(p) for p in e.path) or '(document)'}: {e.message[:300]}", file=sys.stderr)
        bad += bool(errs)
        checked += 1
    print(f"{checked} responses valid of {len(lines)}" if not bad else f"{bad} of {len(lines)} responses invalid")
    sys.exit(1 if bad else 0)


def main():
    if sys.argv[1] == "responses":
        responses(sys.argv[2])
        return
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
