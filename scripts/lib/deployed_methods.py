"""What was deployed, compared with openapi/api.yaml: for every operation, the method's authorization
type and its integration's response transfer mode as API Gateway reports them.

    deployed_methods.py STACK REGION [openapi/api.yaml]

reads the stack's ApiId output and, for each resource and method of that REST API, GetMethod
(https://docs.aws.amazon.com/apigateway/latest/api/API_GetMethod.html), whose `authorizationType`
is `AWS_IAM` for an operation whose security scheme has `x-amazon-apigateway-authtype: awsSigv4`
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html)
and whose `methodIntegration.responseTransferMode` is `STREAM` or `BUFFERED`, the default
(https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html). It prints
one line per operation and exits non-zero on any difference. Run with the SAM CLI venv's
Python (boto3 and PyYAML).

The comparison, `compare`, takes plain data (the parsed definition and GetMethod answers keyed by
method and path) so it is tested offline on recorded answers: scripts/lib/test_deployed_methods.py.
"""

import sys

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def expected_methods(spec: dict) -> "dict[tuple[str, str], dict]":
    """(METHOD, path) -> what the definition asks for: authorization type and transfer mode."""
    global_security = spec.get("security", [])
    schemes = spec.get("components", {}).get("securitySchemes", {})
    expected = {}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            security = operation.get("security", global_security)
            sigv4 = any(
                schemes.get(name, {}).get("x-amazon-apigateway-authtype") == "awsSigv4"
                for requirement in security
                for name in requirement
            )
            integration = operation.get("x-amazon-apigateway-integration", {})
            expected[(method.upper(), path)] = {
                "authorizationType": "AWS_IAM" if sigv4 else "NONE",
                "responseTransferMode": integration.get("responseTransferMode", "BUFFERED"),
            }
    return expected


def compare(spec: dict, deployed: "dict[tuple[str, str], dict]") -> "tuple[list[str], list[str]]":
    """Lines for what matches and for what differs, from GetMethod answers keyed by (METHOD, path)."""
    matches, problems = [], []
    expected = expected_methods(spec)
    for key in sorted(expected):
        method, path = key
        want = expected[key]
        got = deployed.get(key)
        if got is None:
            problems.append(f"{method} {path}: not deployed")
            continue
        auth = got.get("authorizationType")
        mode = got.get("methodIntegration", {}).get("responseTransferMode", "BUFFERED")
        wrong = []
        if auth != want["authorizationType"]:
            wrong.append(f"authorizationType {auth}, expected {want['authorizationType']}")
        if mode != want["responseTransferMode"]:
            wrong.append(f"responseTransferMode {mode}, expected {want['responseTransferMode']}")
        if wrong:
            problems.append(f"{method} {path}: " + "; ".join(wrong))
        else:
            matches.append(f"{method} {path}: {auth}, {mode}")
    for method, path in sorted(set(deployed) - set(expected)):
        if method != "OPTIONS":
            problems.append(f"{method} {path}: deployed but not in the definition")
    return matches, problems


def fetch(stack: str, region: str) -> "dict[tuple[str, str], dict]":
    """GetMethod for every method of the stack's REST API (needs AWS credentials)."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    api_id = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiId")
    apigateway = boto3.client("apigateway", region_name=region)
    deployed = {}
    for page in apigateway.get_paginator("get_resources").paginate(restApiId=api_id):
        for resource in page["items"]:
            for method in resource.get("resourceMethods", {}):
                answer = apigateway.get_method(
                    restApiId=api_id, resourceId=resource["id"], httpMethod=method
                )
                deployed[(method, resource["path"])] = answer
    return deployed


def main(argv: "list[str]") -> int:
    if len(argv) not in (2, 3):
        print("usage: deployed_methods.py STACK REGION [openapi/api.yaml]", file=sys.stderr)
        return 2
    import yaml

    stack, region = argv[0], argv[1]
    with open(argv[2] if len(argv) == 3 else "openapi/api.yaml", encoding="utf-8") as file:
        spec = yaml.safe_load(file)
    try:
        deployed = fetch(stack, region)
    except Exception as error:  # boto3's errors are many; the message is what an operator needs.
        print(f"FAIL  deployed methods: could not read them: {error}")
        return 1
    matches, problems = compare(spec, deployed)
    for line in matches:
        print(f"ok    deployed {line}")
    for line in problems:
        print(f"FAIL  deployed {line}")
    print(f"deployed: {len(matches)} methods as defined, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
