"""Turns template.yaml into the CloudFormation that a deployment would create, offline.

`sam validate` and `cfn-lint` read the SAM template as written; neither reads the file that
`AWS::Include` brings in, so neither sees the API definition API Gateway will import. This module
does what `sam deploy` and CloudFormation do, in the same order: `sam package` points each
function's `CodeUri` at its uploaded code, the `AWS::Include`
transform puts the included file where `Fn::Transform` stood
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-include.html),
and the `AWS::Serverless-2016-10-31` transform, run here by AWS's own translator (`samtranslator`,
the code behind the transform, installed with the SAM CLI), expands the serverless resources into
plain CloudFormation. The result is what scripts/lib/deployed_api_checks.py checks and what
infrastructure scanners can read.

What this cannot show: CloudFormation's evaluation of intrinsic functions (`Fn::Sub`, `Fn::GetAtt`
stay as written) and what API Gateway does when it imports the body; those stay documented
behaviour, checked by reading the body the way AWS documents it.

Usage (from the repository root, with the API tools venv's Python; AWS_DEFAULT_REGION set):

    python scripts/lib/sam_transform.py --out target/sam/transformed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE = REPOSITORY / "template.yaml"
INCLUDE_TRANSFORM = "AWS::Include"


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, ...) in their long form."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_TemplateLoader.add_multi_constructor("!", _short_tag)
# CloudFormation reads dates as text, and so does the translator.
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> Any:
    """A YAML file (template or API definition) as plain data, short tags in long form."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 (a SafeLoader subclass)


def include_from_files(base: Path) -> Callable[[str], Any]:
    """An include loader that reads `Location` relative to the template, as `sam deploy` uploads it."""
    return lambda location: load_yaml(base / location)


def inline_includes(node: Any, include: Callable[[str], Any]) -> Any:
    """The template with every `Fn::Transform: AWS::Include` replaced by the document it names."""
    if isinstance(node, dict):
        transform = node.get("Fn::Transform")
        if len(node) == 1 and isinstance(transform, dict) and transform.get("Name") == INCLUDE_TRANSFORM:
            location = transform.get("Parameters", {}).get("Location")
            if not isinstance(location, str):
                raise ValueError(f"AWS::Include without a Location: {transform}")
            return copy.deepcopy(include(location))
        return {key: inline_includes(value, include) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_includes(item, include) for item in node]
    return node


# `sam deploy` uploads each function's code and replaces its local `CodeUri` with the S3 location
# (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-cli-command-reference-sam-package.html);
# the translator accepts only that form. A placeholder bucket stands in for the upload.
PACKAGED_CODE_BUCKET = "s3://rill-packaged-code"


def as_packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` hands it to CloudFormation: local `CodeUri`s become S3 URIs."""
    packaged = copy.deepcopy(template)
    for resource in (packaged.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        code = properties.get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code, str):
            if not code.startswith("s3://"):
                properties["CodeUri"] = f"{PACKAGED_CODE_BUCKET}/{code.strip('/')}.zip"
    return packaged


class _NoManagedPolicyNames:
    """The translator's managed-policy loader. The template names no managed policy in a function's
    `Policies` (every grant is a statement), so any name looked up is an error, not a guess."""

    def load(self) -> dict[str, str]:
        return {}


def transform(template: dict[str, Any], include: Callable[[str], Any]) -> dict[str, Any]:
    """`template` as CloudFormation would deploy it: includes inlined, then the SAM transform."""
    # Imported late: the translator is only in the API tools venv, and the pure-YAML helpers above
    # are useful without it.
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform as sam_transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    inlined = as_packaged(inline_includes(template, include))
    try:
        return sam_transform(inlined, {}, _NoManagedPolicyNames())
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise ValueError(f"the SAM transform refused the template: {causes}") from error


def transform_file(path: Path = TEMPLATE) -> dict[str, Any]:
    """The transformed template of a template file, includes read beside it."""
    return transform(load_yaml(path), include_from_files(path.parent))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Write template.yaml as plain CloudFormation JSON: AWS::Include inlined, "
        "then the SAM transform applied by AWS's translator, offline."
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the SAM template")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON ('-' for stdout)")
    arguments = parser.parse_args(argv)
    # The translator warns that it has no configuration for its feature toggles; nothing here uses them.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    try:
        transformed = transform_file(arguments.template)
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"sam_transform: {error}", file=sys.stderr)
        return 1
    text = json.dumps(transformed, indent=2, sort_keys=False) + "\n"
    if str(arguments.out) == "-":
        sys.stdout.write(text)
    else:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(text, encoding="utf-8")
        print(f"wrote {arguments.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
