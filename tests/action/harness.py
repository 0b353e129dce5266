#!/usr/bin/env python3
"""Runs the composite action in action.yml the way the GitHub Actions runner does, on this
machine: evaluates each step's `env:` expressions, runs its `run:` script with
`bash --noprofile --norc -eo pipefail`, collects $GITHUB_OUTPUT, then evaluates the
action's outputs.

usage: harness.py ACTION_DIR RESULT_JSON [INPUT=VALUE ...]

Writes {"status": N, "outputs": {...}, "steps": {...}} to RESULT_JSON; the steps' output goes
to this process's stdout/stderr. Refuses an action that expands an expression inside `run:`
(script injection) or uses an expression this harness does not know.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def main():
    action_dir, result_path, *pairs = sys.argv[1:]
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "not a composite action"
    given = dict(p.split("=", 1) for p in pairs)
    inputs = {}
    for name, spec in action.get("inputs", {}).items():
        inputs[name] = given.pop(name, str(spec.get("default", "")))
    if given:
        raise SystemExit(f"unknown inputs: {sorted(given)}")
    temp = tempfile.mkdtemp(prefix="runner-temp-")
    steps = {}

    def evaluate(text):
        def one(m):
            e = m.group(1)
            parts = e.split(".")
            if parts[0] == "inputs" and len(parts) == 2:
                return inputs[parts[1]]
            if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
                return steps.get(parts[1], {}).get(parts[3], "")
            if e == "github.action_path":
                return action_dir
            if e == "runner.temp":
                return temp
            raise SystemExit(f"expression not supported by the harness: {e}")

        return EXPR.sub(one, str(text))

    status = 0
    for i, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id", f"step{i}")
        if "uses" in step:
            raise SystemExit(f"step {sid}: `uses:` steps are not supported by the harness")
        script = step["run"]
        if EXPR.search(script):
            raise SystemExit(f"step {sid}: expression expanded inside run: (script injection)")
        assert step.get("shell") == "bash", f"step {sid}: shell must be bash"
        assert "if" not in step, f"step {sid}: `if:` is not supported by the harness"
        out_file = os.path.join(temp, f"output-{sid}")
        open(out_file, "w").close()
        env = dict(os.environ)
        env.update(
            GITHUB_ACTION_PATH=action_dir,
            GITHUB_OUTPUT=out_file,
            RUNNER_TEMP=temp,
        )
        env.setdefault("GITHUB_STEP_SUMMARY", os.path.join(temp, "step-summary"))
        for k, v in (step.get("env") or {}).items():
            env[k] = evaluate(v)
        script_file = os.path.join(temp, f"{sid}.sh")
        with open(script_file, "w") as f:
            f.write(script)
        code = subprocess.call(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", script_file], env=env
        )
        steps[sid] = read_outputs(out_file)
        if code != 0:
            status = code
            break
    outputs = {
        name: evaluate(spec["value"]) for name, spec in action.get("outputs", {}).items()
    }
    with open(result_path, "w") as f:
        json.dump({"status": status, "outputs": outputs, "steps": steps}, f)


def read_outputs(path):
    """`name=value` lines and `name<<DELIM` ... `DELIM` blocks, as the runner reads them."""
    out = {}
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


if __name__ == "__main__":
    main()
