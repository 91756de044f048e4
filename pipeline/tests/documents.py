"""Loads the files the pipeline tests read: the workflow, the bootstrap template and template.yaml.

CloudFormation's short tags (!Ref, !Sub, !GetAtt...) become the long forms ({"Ref": ...},
{"Fn::Sub": ...}), so a check compares one spelling. PyYAML reads a workflow's `on:` key as the
boolean True (YAML 1.1); `triggers()` hides that.
"""

import copy
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "pipeline.yml"
BOOTSTRAP = REPO / "pipeline" / "bootstrap.yaml"
TEMPLATE = REPO / "template.yaml"
TRANSFORMED = REPO / "target" / "sam" / "transformed.json"


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form intrinsic functions."""


def _intrinsic(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path):
    with open(path, encoding="utf-8") as file:
        return yaml.load(file, Loader=CloudFormationLoader)


def load_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def workflow():
    return load_yaml(WORKFLOW)


def bootstrap():
    return load_yaml(BOOTSTRAP)


def template():
    return load_yaml(TEMPLATE)


def transformed():
    return load_json(TRANSFORMED)


def broken(document, change):
    """A deep copy of `document` with `change(copy)` applied, for tests that show a check fails."""
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def triggers(workflow_document):
    """The workflow's `on:` section, whichever way YAML read the key."""
    return workflow_document.get("on", workflow_document.get(True))


def statements(policy_document):
    """A policy document's statements, as a list."""
    found = policy_document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value):
    return value if isinstance(value, list) else [value]


def assert_checks_pass_and_fail_when_broken(test, document, checks):
    """Runs each `check(document)` of `checks` ({name: (check, breakage)}): the real document has no
    problem, and the copy that `breakage` broke has at least one."""
    for name, (check, breakage) in checks.items():
        with test.subTest(check=name):
            test.assertEqual(check(document), [])
            test.assertNotEqual(check(broken(document, breakage)), [], f"{name} misses its breakage")
