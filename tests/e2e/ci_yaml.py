"""Print, as sh, what a contrib/ci job runs for clean-release: the shell
lines of its clean-release step, after exports of the variables it sets.
Runs with /usr/bin/python3 (Debian's python3-yaml).

usage: ci_yaml.py github FILE   the step named "clean-release ci" of the one job
       ci_yaml.py gitlab FILE   the script of the job "clean-release"
"""
import shlex
import sys

import yaml


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if kind == "github":
        (job,) = doc["jobs"].values()
        (step,) = [s for s in job["steps"] if s.get("name") == "clean-release ci"]
        env, lines = step.get("env", {}), [step["run"]]
    else:
        job = doc["clean-release"]
        env, lines = job.get("variables", {}), job["script"]
    for k, v in env.items():
        print("export %s=%s" % (k, shlex.quote(str(v))))
    for line in lines:
        print(line)


main()
