"""infra/terraform cannot be planned here (no provider download), so its structure is checked from the HCL itself:
module inputs typed and described, every env passing what each module requires, the outputs the config takes,
tags on every resource, and no wildcard action in an IAM statement that allows something."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from dp_core.config import find_repo_root
from dp_core.config import terraform as tf

REPO = find_repo_root(Path(__file__))
TF = REPO / "infra" / "terraform"
MODULES = sorted(p.name for p in (TF / "modules").iterdir() if p.is_dir())
ENVS = ("dev", "staging", "prod")
#: Arguments of a module block that are not inputs.
META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each", "__is_block__"}
#: Tags the provider's default_tags put on every AWS resource of every environment.
REQUIRED_TAGS = {"owner", "environment", "data-classification"}
#: What default_tags do not reach, and the argument that hands the tags on instead: (argument, required value).
TAG_EXCEPTIONS: dict[str, tuple[str, Any]] = {
    "aws_ecs_service": ("propagate_tags", "SERVICE"),  # tasks started by the service
    "aws_db_instance": ("copy_tags_to_snapshot", True),  # snapshots
    "aws_autoscaling_group": ("tag", None),  # instances: tag blocks with propagate_at_launch
    "aws_launch_template": ("tag_specifications", None),  # instances and volumes it launches
}
#: The only wildcard action an Allow statement may hold: the account administering its own KMS key.
ALLOWED_WILDCARDS = {("governance", "kms:*")}


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals (``'"x"'``)."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def load(folder: Path) -> tuple[dict[str, Any], ...]:
    """Every ``*.tf`` file of a folder (links followed), parsed."""
    docs = []
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            docs.append(hcl2.load(handle))
    return tuple(docs)


def blocks(folder: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(name, body)`` of every block of a kind (variable, output, module, provider) in a folder."""
    for doc in load(folder):
        for entry in doc.get(kind, []):
            for name, body in entry.items():
                yield unquote(name), body


def resources(folder: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(type, name, body)`` of every resource of a folder."""
    for doc in load(folder):
        for entry in doc.get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    yield unquote(rtype), unquote(name), body


def nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every mapping anywhere in a parsed tree."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from nodes(value)
    elif isinstance(tree, list | tuple):
        for value in tree:
            yield from nodes(value)


def module_dir(env: str, name: str) -> Path:
    body = dict(blocks(TF / "envs" / env, "module"))[name]
    return (TF / "envs" / env / str(unquote(body["source"]))).resolve()


def env_modules(env: str) -> list[str]:
    return [name for name, _ in blocks(TF / "envs" / env, "module")]


def test_every_module_and_env_is_there() -> None:
    assert MODULES == ["catalog", "compute", "governance", "networking", "storage", "streaming"]
    for env in ENVS:
        assert sorted(module_dir(env, m).name for m in env_modules(env)) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_variables_are_typed_described_and_validated(module: str) -> None:
    folder = TF / "modules" / module
    variables = dict(blocks(folder, "variable"))
    assert variables
    for name, body in variables.items():
        assert "type" in body and unquote(body.get("description", "")), f"{module}: variable {name}"
        if body["type"] != "bool":
            assert body.get("validation"), f"{module}: variable {name} has no validation"
    for name, body in blocks(folder, "output"):
        assert unquote(body.get("description", "")), f"{module}: output {name} has no description"


@pytest.mark.parametrize("module", MODULES)
def test_module_readme_lists_every_input_and_output(module: str) -> None:
    folder = TF / "modules" / module
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for heading in ("## What it creates", "## Inputs", "## Outputs", "## Example"):
        assert heading in readme, f"{module}/README.md lacks {heading}"
    for kind in ("variable", "output"):
        for name, _ in blocks(folder, kind):
            assert f"`{name}`" in readme, f"{module}/README.md does not list the {kind} {name}"


@pytest.mark.parametrize("env", ENVS)
def test_env_passes_every_required_input_and_no_unknown_one(env: str) -> None:
    for name, body in blocks(TF / "envs" / env, "module"):
        declared = dict(blocks(module_dir(env, name), "variable"))
        required = {v for v, spec in declared.items() if "default" not in spec}
        passed = set(body) - META_ARGUMENTS
        assert required - passed == set(), f"{env}: module {name} misses inputs"
        assert passed - set(declared) == set(), f"{env}: module {name} gets unknown inputs"


@pytest.mark.parametrize("env", ENVS)
def test_env_references_only_existing_module_outputs(env: str) -> None:
    folder = TF / "envs" / env
    text = "\n".join(p.read_text(encoding="utf-8") for p in folder.glob("*.tf"))
    for module, output in set(re.findall(r"\bmodule\.(\w+)\.(\w+)", text)):
        outputs = dict(blocks(module_dir(env, module), "output"))
        assert output in outputs, f"{env}: module.{module}.{output} is not an output of {module}"


@pytest.mark.parametrize("env", ENVS)
def test_env_tfvars_set_every_required_root_variable(env: str) -> None:
    folder = TF / "envs" / env
    declared = dict(blocks(folder, "variable"))
    with (folder / "terraform.tfvars").open(encoding="utf-8") as handle:
        tfvars = {k: v for k, v in hcl2.load(handle).items() if not k.startswith("__")}
    assert set(tfvars) - set(declared) == set(), f"{env}: terraform.tfvars sets unknown variables"
    assert {v for v, spec in declared.items() if "default" not in spec} - set(tfvars) == set()
    assert unquote(tfvars["environment"]) == env


@pytest.mark.parametrize("env", ENVS)
def test_env_outputs_hold_what_the_config_takes(env: str) -> None:
    outputs = dict(blocks(TF / "envs" / env, "output"))
    wanted = {k.output for k in tf.OUTPUT_KEYS} | set(tf.ENDPOINT_OUTPUTS)
    assert wanted - set(outputs) == set()


def test_the_prod_sample_outputs_are_the_outputs_of_the_env() -> None:
    sample = json.loads((TF / "envs" / "prod" / "outputs.example.json").read_text(encoding="utf-8"))
    assert set(sample) == {name for name, _ in blocks(TF / "envs" / "prod", "output")}


@pytest.mark.parametrize("env", ENVS)
def test_env_backend_is_s3_with_locking_and_no_committed_settings(env: str) -> None:
    (terraform,) = [body for doc in load(TF / "envs" / env) for body in doc.get("terraform", [])]
    (backend,) = terraform["backend"]
    settings = backend['"s3"'] if '"s3"' in backend else backend["s3"]
    assert settings.get("use_lockfile") is True
    assert not {"bucket", "key", "region", "dynamodb_table"} & set(settings), "pass backend settings at init"


@pytest.mark.parametrize("env", ENVS)
def test_every_resource_is_tagged(env: str) -> None:
    providers = [body for name, body in blocks(TF / "envs" / env, "provider") if name == "aws"]
    assert providers
    for provider in providers:
        (default_tags,) = provider["default_tags"]
        assert set(default_tags["tags"]) >= REQUIRED_TAGS, f"{env}: provider default_tags"
    for module in env_modules(env):
        for rtype, name, body in resources(module_dir(env, module)):
            assert rtype.startswith("aws_"), f"{rtype}.{name}: no provider default_tags reach it"
            if rtype in TAG_EXCEPTIONS:
                argument, value = TAG_EXCEPTIONS[rtype]
                assert argument in body, f"{rtype}.{name} must hand its tags on with {argument}"
                if value is not None:
                    assert unquote(body[argument]) == value, f"{rtype}.{name}: {argument}"


def actions_of(value: Any, local_values: dict[str, Any]) -> set[str]:
    """The action strings of an ``actions`` value: literals, and the locals it names, resolved."""
    found: set[str] = set()
    for item in value if isinstance(value, list) else [value]:
        text = str(item)
        if text.startswith('"'):
            found.add(unquote(text))
            continue
        found.update(re.findall(r'"([a-z0-9-]+:[A-Za-z*]+)"', text))
        for ref in re.findall(r"\blocal\.(\w+)", text):
            found |= actions_of(local_values[ref], local_values)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_no_allow_statement_has_a_wildcard_action(module: str) -> None:
    docs = load(TF / "modules" / module)
    local_values = {k: v for doc in docs for entry in doc.get("locals", []) for k, v in entry.items()}
    statements = [n for n in nodes(docs) if "actions" in n and unquote(n.get("effect", '"Allow"')) == "Allow"]
    actions = set().union(*(actions_of(s["actions"], local_values) for s in statements)) if statements else set()
    assert {(module, a) for a in actions if "*" in a} <= ALLOWED_WILDCARDS
    if module == "governance":  # the workload policies were read, with their S3 data actions
        assert {"s3:GetObject", "s3:PutObject", "kafka-cluster:WriteData", "glue:UpdateTable"} <= actions
