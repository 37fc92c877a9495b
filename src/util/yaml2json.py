#!/usr/bin/python3
# yaml2json.py FILE — print the YAML document FILE as JSON (the build embeds
# the OpenAPI document this way; needs Debian's python3-yaml).
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.safe_load(f)
json.dump(doc, sys.stdout, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
sys.stdout.write("\n")
