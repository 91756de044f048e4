"""Writes the transformed template as checkov should scan it: each API stage carries its API's skips.

SAM copies an `AWS::Serverless::Api`'s `Metadata` to the `AWS::ApiGateway::RestApi` it generates, but
not to the `AWS::ApiGateway::Stage` it also generates for it, and a stage has no resource of its own in
template.yaml to hold a `Metadata: checkov: skip:` entry. So a skip written on the Api, with its reason,
is applied here to that Api's stage too; nothing else changes.

Usage: python pipeline/checkov_input.py target/sam/transformed.json target/sam/checkov-input.json
"""

import copy
import json
import sys


def with_stage_skips(template):
    """A copy of `template` whose stages carry the checkov skips of the RestApi they belong to."""
    scanned = copy.deepcopy(template)
    resources = scanned.get("Resources", {})
    for stage in resources.values():
        if stage.get("Type") != "AWS::ApiGateway::Stage":
            continue
        api = (stage.get("Properties", {}).get("RestApiId") or {}).get("Ref")
        skips = resources.get(api, {}).get("Metadata", {}).get("checkov", {}).get("skip", [])
        if skips:
            own = stage.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
            own.extend(skip for skip in skips if skip not in own)
    return scanned


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as source:
        template = json.load(source)
    with open(argv[1], "w", encoding="utf-8") as target:
        json.dump(with_stage_skips(template), target, indent=2)
        target.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
