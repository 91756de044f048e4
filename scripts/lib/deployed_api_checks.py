"""Checks the transformed template (scripts/lib/sam_transform.py): the API as it would be deployed.

The sources can look right while the deployment is wrong: SAM adds resources of its own (a second
stage named `Stage`), API Gateway reads the imported body its own way (a root-level `security` is
ignored), and CloudFormation resolves a dynamic reference into the function configuration. So each
check here reads the plain CloudFormation that `sam deploy` would hand to CloudFormation, with the
API definition inlined where AWS::Include puts it.

What is checked, and how much of it offline reading can show:

- one REST API, importing the inlined definition with `FailOnWarnings`, so an import that drops
  part of it fails the deploy (sam-resource-api.html#sam-api-failonwarnings);
- every method is AWS_IAM: API Gateway sets a method's authorization from the operation's own
  `security`, whose scheme carries `x-amazon-apigateway-authtype: awsSigv4`
  (api-gateway-swagger-extensions-authtype.html); the root-level requirement is ignored
  (api-gateway-known-issues.html#api-gateway-known-issues-rest-apis). The methods API Gateway
  creates from the body are not in the template, so this reads the body as AWS documents the import;
  that the import honours the documentation can only be seen in a deployed stack;
- every integration is a Lambda proxy POST through the invoke role: exports stream through the
  `2021-11-15/.../response-streaming-invocations` URI for at most 900000 ms, everything else is
  buffered through `2015-03-31/.../invocations` for at most 29000 ms
  (response-transfer-mode-lambda.html, limits.html);
- exactly one stage, and no deployment that creates another (`StageName` on the deployment);
- the invoke role is trusted by apigateway.amazonaws.com alone with no condition (AWS documents
  none for integration credentials: permissions.html) and may only invoke the stack's function
  aliases, the ones the integrations call;
- no function environment holds a `{{resolve:...}}` dynamic reference or anything resolved from a
  secret: a secret's value there is readable by anyone who can read the function's configuration;
- no per-account singleton (AWS::ApiGateway::Account) in the application stack;
- the definition avoids what API Gateway's import does not support (apigateway_import_rules).

Usage: python scripts/lib/deployed_api_checks.py target/sam/transformed.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import apigateway_import_rules

INVOKE_ROLE = "ApiGatewayInvokeRole"
API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
INVOKE_ACTIONS = {"lambda:InvokeFunction", "lambda:InvokeWithResponseStream"}
STREAMING_PATH_PREFIX = "/exports/"
# API Gateway's integration timeouts: 29 s buffered (without a quota increase), 15 min streamed.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
MAX_BUFFERED_TIMEOUT_MS = 29_000
MAX_STREAMING_TIMEOUT_MS = 900_000
# Each integration calls a function's alias, the AWS::Lambda::Alias SAM generates for AutoPublishAlias
# (sam-specification-generated-resources-function.html), so a gradual deployment can shift it.
STREAMING_URI = re.compile(
    r"\Aarn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2021-11-15/functions/"
    r"\$\{(?P<alias>[A-Za-z0-9]+)\}/response-streaming-invocations\Z"
)
BUFFERED_URI = re.compile(
    r"\Aarn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:path/2015-03-31/functions/"
    r"\$\{(?P<alias>[A-Za-z0-9]+)\}/invocations\Z"
)
SECRET_TYPES = {"AWS::SecretsManager::Secret"}
SECRET_NAME = re.compile(r"(SECRET|KEY|TOKEN|PASSWORD)", re.IGNORECASE)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == kind
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _rest_api(template: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    apis = resources(template, "AWS::ApiGateway::RestApi")
    if len(apis) != 1:
        return None
    return next(iter(apis.items()))


def _body(template: dict[str, Any]) -> dict[str, Any]:
    api = _rest_api(template)
    body = api[1].get("Properties", {}).get("Body") if api else None
    return body if isinstance(body, dict) else {}


def check_rest_api(template: dict[str, Any]) -> list[str]:
    apis = resources(template, "AWS::ApiGateway::RestApi")
    if len(apis) != 1:
        return [f"expected one AWS::ApiGateway::RestApi, found {sorted(apis)}"]
    logical_id, api = next(iter(apis.items()))
    properties = api.get("Properties") or {}
    found = []
    if not isinstance(properties.get("Body"), dict) or "paths" not in properties["Body"]:
        found.append(f"{logical_id}: the definition is not inlined as the RestApi Body")
    if properties.get("FailOnWarnings") is not True:
        found.append(
            f"{logical_id}: FailOnWarnings is not true, so an import that drops part of the "
            "definition would still deploy"
        )
    return found


def check_methods_are_aws_iam(template: dict[str, Any]) -> list[str]:
    body = _body(template)
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    sigv4_schemes = {
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, dict)
        and scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and scheme.get("name") == "Authorization"
        and scheme.get("x-amazon-apigateway-authtype") == "awsSigv4"
    }
    found = []
    for label, operation in apigateway_import_rules.operations(body):
        security = operation.get("security")
        if not isinstance(security, list) or not security:
            found.append(f"{label}: not AWS_IAM (no security of its own; the root one is ignored on import)")
            continue
        for requirement in security:
            if not isinstance(requirement, dict) or not requirement or set(requirement) - sigv4_schemes:
                found.append(f"{label}: not AWS_IAM only (security requirement {requirement})")
    for logical_id, method in resources(template, "AWS::ApiGateway::Method").items():
        kind = (method.get("Properties") or {}).get("AuthorizationType")
        if kind != "AWS_IAM":
            found.append(f"{logical_id}: AuthorizationType {kind}")
    return found


def _uri_text(uri: Any) -> str | None:
    if isinstance(uri, dict) and set(uri) == {"Fn::Sub"} and isinstance(uri["Fn::Sub"], str):
        return uri["Fn::Sub"]
    return None


def function_aliases(template: dict[str, Any]) -> dict[str, str]:
    """The stack's function aliases: alias logical id -> the logical id of the function it points at."""
    functions = resources(template, "AWS::Lambda::Function")
    aliases = {}
    for logical_id, alias in resources(template, "AWS::Lambda::Alias").items():
        target = ((alias.get("Properties") or {}).get("FunctionName") or {})
        if isinstance(target, dict) and target.get("Ref") in functions:
            aliases[logical_id] = target["Ref"]
    return aliases


def check_integrations(template: dict[str, Any]) -> list[str]:
    aliases = function_aliases(template)
    found = []
    for label, operation in apigateway_import_rules.operations(_body(template)):
        integration = operation.get("x-amazon-apigateway-integration")
        if not isinstance(integration, dict):
            found.append(f"{label}: no x-amazon-apigateway-integration")
            continue
        if integration.get("type") != "aws_proxy":
            found.append(f"{label}: integration type {integration.get('type')}, not aws_proxy")
        if integration.get("httpMethod") != "POST":
            found.append(f"{label}: integration httpMethod {integration.get('httpMethod')}, not POST")
        if integration.get("credentials") != {"Fn::GetAtt": [INVOKE_ROLE, "Arn"]}:
            found.append(f"{label}: credentials {integration.get('credentials')}, not the invoke role")
        streams = label.split(" ", 1)[1].startswith(STREAMING_PATH_PREFIX)
        uri = _uri_text(integration.get("uri"))
        pattern, mode, limit = (
            (STREAMING_URI, "STREAM", MAX_STREAMING_TIMEOUT_MS)
            if streams
            else (BUFFERED_URI, "BUFFERED", MAX_BUFFERED_TIMEOUT_MS)
        )
        match = pattern.match(uri or "")
        if not match:
            found.append(f"{label}: uri {integration.get('uri')} is not the {mode.lower()} invocation URI")
        elif match.group("alias") not in aliases:
            found.append(f"{label}: uri names {match.group('alias')}, not an alias of a function of the stack")
        if integration.get("responseTransferMode") != mode:
            found.append(
                f"{label}: responseTransferMode {integration.get('responseTransferMode')}, not {mode}"
            )
        timeout = integration.get("timeoutInMillis")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 50 <= timeout <= limit:
            found.append(f"{label}: timeoutInMillis {timeout}, not 50 to {limit}")
    return found


def check_one_stage(template: dict[str, Any]) -> list[str]:
    found = []
    stages = resources(template, "AWS::ApiGateway::Stage")
    if len(stages) != 1:
        found.append(f"expected exactly one AWS::ApiGateway::Stage, found {sorted(stages)}")
    for logical_id, deployment in resources(template, "AWS::ApiGateway::Deployment").items():
        stage_name = (deployment.get("Properties") or {}).get("StageName")
        if stage_name is not None:
            found.append(
                f"{logical_id}: the deployment creates a stage of its own ({stage_name}) without the "
                "stage's logs, throttling and tracing"
            )
    for logical_id, stage in stages.items():
        properties = stage.get("Properties") or {}
        for setting in ("AccessLogSetting", "TracingEnabled", "MethodSettings"):
            if not properties.get(setting):
                found.append(f"{logical_id}: no {setting}")
    return found


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = (document or {}).get("Statement") if isinstance(document, dict) else None
    return [s for s in _as_list(statements) if isinstance(s, dict)]


def check_invoke_role(template: dict[str, Any]) -> list[str]:
    role = (template.get("Resources") or {}).get(INVOKE_ROLE)
    if not role or role.get("Type") != "AWS::IAM::Role":
        return [f"{INVOKE_ROLE}: no such AWS::IAM::Role"]
    properties = role.get("Properties") or {}
    found = []
    trust = _statements(properties.get("AssumeRolePolicyDocument"))
    if not trust:
        found.append(f"{INVOKE_ROLE}: no trust policy")
    for statement in trust:
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else None
        if (
            statement.get("Effect") != "Allow"
            or set(principal or {}) != {"Service"}
            or services != [API_GATEWAY_PRINCIPAL]
        ):
            found.append(f"{INVOKE_ROLE}: trusts {principal}, not {API_GATEWAY_PRINCIPAL} alone")
        if _as_list(statement.get("Action")) != ["sts:AssumeRole"]:
            found.append(f"{INVOKE_ROLE}: trust allows {statement.get('Action')}")
        if "Condition" in statement:
            found.append(
                f"{INVOKE_ROLE}: trust condition {statement['Condition']} (AWS documents no condition "
                "key that API Gateway sets when it assumes integration credentials)"
            )
    for key in ("ManagedPolicyArns", "PermissionsBoundary"):
        if properties.get(key):
            found.append(f"{INVOKE_ROLE}: {key} grants what cannot be checked here")
    # The role may call exactly the aliases the integrations call: Ref of an alias is its ARN.
    functions = {json.dumps({"Ref": logical_id}, sort_keys=True) for logical_id in function_aliases(template)}
    granted: set[str] = set()
    for policy in properties.get("Policies") or []:
        for statement in _statements(policy.get("PolicyDocument")):
            if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
                found.append(f"{INVOKE_ROLE}: statement {statement} is not a plain Allow")
            actions = set(_as_list(statement.get("Action")))
            if not actions <= INVOKE_ACTIONS:
                found.append(f"{INVOKE_ROLE}: may {sorted(actions - INVOKE_ACTIONS)}")
            for target in _as_list(statement.get("Resource")):
                text = json.dumps(target, sort_keys=True)
                if text not in functions:
                    found.append(f"{INVOKE_ROLE}: may invoke {text}, not a function of the stack")
                granted.add(text)
    if granted != functions:
        found.append(f"{INVOKE_ROLE}: cannot invoke {sorted(functions - granted)}")
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _attribute_targets(value: Any) -> Iterator[str]:
    """The logical ids whose attributes `value` reads (`Fn::GetAtt`, `${X.Attr}` in `Fn::Sub`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".", 1)[0]
                yield str(target)
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                if isinstance(text, str):
                    yield from (m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+\.[^}]+)\}", text))
            yield from _attribute_targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _attribute_targets(item)


def check_function_environments(template: dict[str, Any]) -> list[str]:
    secrets = {logical_id for kind in SECRET_TYPES for logical_id in resources(template, kind)}
    found = []
    for logical_id, function in resources(template, "AWS::Lambda::Function").items():
        variables = ((function.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if any("{{resolve:" in text for text in _strings(value)):
                found.append(
                    f"{logical_id}: {name} holds a dynamic reference, resolved into the function "
                    "configuration in clear"
                )
            for target in _attribute_targets(value):
                if target in secrets:
                    found.append(f"{logical_id}: {name} reads an attribute of the secret {target}")
            if isinstance(value, str) and SECRET_NAME.search(name) and value:
                found.append(f"{logical_id}: {name} is a literal value; a key belongs in a secret")
    return found


def check_no_account_singletons(template: dict[str, Any]) -> list[str]:
    return [
        f"{logical_id}: AWS::ApiGateway::Account is one per account and Region; it belongs to "
        "deploy/account.yaml, not to a stack deployed once per stage"
        for logical_id in resources(template, "AWS::ApiGateway::Account")
    ]


def check_import_rules(template: dict[str, Any]) -> list[str]:
    return [f"import: {problem}" for problem in apigateway_import_rules.problems(_body(template))]


CHECKS: tuple[Callable[[dict[str, Any]], list[str]], ...] = (
    check_rest_api,
    check_methods_are_aws_iam,
    check_integrations,
    check_one_stage,
    check_invoke_role,
    check_function_environments,
    check_no_account_singletons,
    check_import_rules,
)


def problems(template: dict[str, Any]) -> list[str]:
    """Every problem every check finds in a transformed template."""
    return [problem for check in CHECKS for problem in check(template)]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: deployed_api_checks.py TRANSFORMED_TEMPLATE.json", file=sys.stderr)
        return 2
    template = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    found = problems(template)
    for problem in found:
        print(f"deployed API: {problem}", file=sys.stderr)
    if found:
        return 1
    print(f"deployed API: {len(CHECKS)} checks passed on {argv[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
