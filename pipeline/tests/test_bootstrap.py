"""What pipeline/bootstrap.yaml must say: least privilege, GitHub trust limited to this repository's
main branch or a stage's environment, and a private, encrypted, expiring artifacts bucket.

Each check returns problems; the real template has none, and a copy broken for each check has some.
"""

import json
import re
import unittest

from documents import assert_checks_pass_and_fail_when_broken, as_list, bootstrap, broken, statements

# Actions that name no resource in IAM, and so may only be granted on "*".
# https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
NO_RESOURCE_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "secretsmanager:GetRandomPassword",
}
GITHUB = "token.actions.githubusercontent.com"


def roles(document):
    return {
        name: resource
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }


def role_statements(role):
    for policy in role["Properties"].get("Policies", []):
        yield from statements(policy["PolicyDocument"])


def trust_document(role):
    """The trust policy, with the JSON text of an Fn::Sub parsed (its ${...} left as they are)."""
    trust = role["Properties"]["AssumeRolePolicyDocument"]
    if isinstance(trust, dict) and "Fn::Sub" in trust:
        text = trust["Fn::Sub"]
        text = text[0] if isinstance(text, list) else text
        return json.loads(text)
    return trust


def check_no_wildcard_actions(document):
    problems = []
    for name, role in roles(document).items():
        if role["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{name} attaches managed policies, which this template cannot check")
        for statement in role_statements(role):
            actions = as_list(statement.get("Action", []))
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{name} allows every action of {action}")
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{name} uses NotAction/NotResource")
            if "*" in as_list(statement.get("Resource", [])):
                extra = set(actions) - NO_RESOURCE_ACTIONS
                if extra:
                    problems.append(f"{name} allows {sorted(extra)} on every resource")
    return problems


def check_execution_role(document):
    role = document["Resources"].get("CloudFormationExecutionRole")
    if not role:
        return ["no CloudFormationExecutionRole"]
    problems = []
    trust = statements(role["Properties"]["AssumeRolePolicyDocument"])
    if [s.get("Principal") for s in trust] != [{"Service": "cloudformation.amazonaws.com"}]:
        problems.append("only CloudFormation may assume the execution role")
    services = set()
    for statement in role_statements(role):
        for action in as_list(statement["Action"]):
            services.add(action.split(":")[0])
            if action in ("iam:AttachRolePolicy", "iam:PassRole") and "Condition" not in statement:
                problems.append(f"{action} without a condition")
            if action.startswith("iam:") and action != "iam:PassRole":
                for resource in as_list(statement["Resource"]):
                    if not re.search(r":role/\$\{(Staging|Prod)StackName\}-\*", json.dumps(resource)):
                        problems.append(f"{action} on {resource}: only roles named after a Rill stack")
    allowed = {"lambda", "apigateway", "dynamodb", "logs", "secretsmanager", "cloudwatch", "codedeploy",
               "iam", "s3", "cloudformation"}
    if services - allowed:
        problems.append(f"the execution role reaches beyond template.yaml: {sorted(services - allowed)}")
    return problems


def check_github_trust(document):
    problems = []
    expected = {
        "StagingUploadRole": "repo:${Repository}:ref:refs/heads/main",
        "ProdUploadRole": "repo:${Repository}:ref:refs/heads/main",
        "StagingDeployRole": "repo:${Repository}:environment:staging",
        "ProdDeployRole": "repo:${Repository}:environment:prod",
    }
    for name, role in roles(document).items():
        trust = statements(trust_document(role))
        federated = [s for s in trust if "Federated" in s.get("Principal", {})]
        if not federated:
            continue
        if name not in expected:
            problems.append(f"{name} trusts GitHub but is not a pipeline role")
            continue
        for statement in federated:
            condition = statement.get("Condition", {})
            if set(condition) != {"StringEquals"}:
                problems.append(f"{name}: the trust must match exact claims (StringEquals only)")
                continue
            claims = condition["StringEquals"]
            if claims.get(f"{GITHUB}:aud") != "sts.amazonaws.com":
                problems.append(f"{name}: audience must be sts.amazonaws.com")
            if claims.get(f"{GITHUB}:sub") != expected[name]:
                problems.append(f"{name}: sub is {claims.get(f'{GITHUB}:sub')}, expected {expected[name]}")
    for name in expected:
        if name not in document["Resources"]:
            problems.append(f"no {name}")
    return problems


def check_upload_roles_cannot_deploy(document):
    problems = []
    for name in ("StagingUploadRole", "ProdUploadRole"):
        for statement in role_statements(document["Resources"][name]):
            for action in as_list(statement["Action"]):
                if not action.startswith("s3:") or action.startswith("s3:Delete"):
                    problems.append(f"{name} may {action}; it only uploads artifacts")
    return problems


def check_bucket(document):
    bucket = document["Resources"].get("ArtifactsBucket", {})
    properties = bucket.get("Properties", {})
    problems = []
    if properties.get("VersioningConfiguration", {}).get("Status") != "Enabled":
        problems.append("the bucket must be versioned")
    if not properties.get("BucketEncryption"):
        problems.append("the bucket must be encrypted")
    block = properties.get("PublicAccessBlockConfiguration", {})
    for setting in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        if block.get(setting) is not True:
            problems.append(f"the bucket must set {setting}")
    rules = properties.get("LifecycleConfiguration", {}).get("Rules", [])
    if not any(r.get("ExpirationInDays") and r.get("NoncurrentVersionExpiration") for r in rules):
        problems.append("old artifacts and their old versions must expire")
    policy = document["Resources"].get("ArtifactsBucketPolicy", {}).get("Properties", {})
    tls = [
        s for s in statements(policy.get("PolicyDocument", {"Statement": []}))
        if s.get("Effect") == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    if not tls:
        problems.append("the bucket policy must deny requests without TLS")
    return problems


def check_oidc_provider_optional(document):
    provider = document["Resources"].get("GitHubOidcProvider", {})
    problems = []
    if provider.get("Condition") != "CreateProvider":
        problems.append("the OIDC provider must be optional (Condition: CreateProvider)")
    if provider.get("Properties", {}).get("Url") != f"https://{GITHUB}":
        problems.append("the provider must be GitHub's")
    return problems


def set_action(role, sid, action):
    for policy in role["Properties"]["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            if statement.get("Sid") == sid:
                statement["Action"] = action


def loosen_trust(document):
    trust = document["Resources"]["ProdDeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Fn::Sub"][0] = trust["Fn::Sub"][0].replace("environment:prod", "ref:refs/heads/main")


CHECKS = {
    "no wildcard actions": (
        check_no_wildcard_actions,
        lambda d: set_action(d["Resources"]["CloudFormationExecutionRole"], "Functions", "lambda:*"),
    ),
    "execution role": (
        check_execution_role,
        lambda d: set_action(d["Resources"]["CloudFormationExecutionRole"], "Tables", "ec2:RunInstances"),
    ),
    "github trust": (check_github_trust, loosen_trust),
    "upload roles": (
        check_upload_roles_cannot_deploy,
        lambda d: d["Resources"]["ProdUploadRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .append({"Effect": "Allow", "Action": "cloudformation:ExecuteChangeSet", "Resource": "*"}),
    ),
    "bucket": (
        check_bucket,
        lambda d: d["Resources"]["ArtifactsBucket"]["Properties"].pop("PublicAccessBlockConfiguration"),
    ),
    "oidc provider": (check_oidc_provider_optional, lambda d: d["Resources"]["GitHubOidcProvider"].pop("Condition")),
}


class BootstrapTest(unittest.TestCase):
    def test_the_bootstrap_template_passes_every_check_and_each_fails_on_a_broken_copy(self):
        assert_checks_pass_and_fail_when_broken(self, bootstrap(), CHECKS)

    def test_star_on_star_and_an_unconditioned_pass_role_are_caught(self):
        document = bootstrap()
        star = broken(
            document,
            lambda d: d["Resources"]["CloudFormationExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
                "Statement"
            ].append({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        )
        self.assertNotEqual(check_no_wildcard_actions(star), [])
        unconditioned = broken(
            document,
            lambda d: [
                s.pop("Condition", None)
                for s in d["Resources"]["CloudFormationExecutionRole"]["Properties"]["Policies"][0][
                    "PolicyDocument"
                ]["Statement"]
                if s.get("Sid") == "PassStackRoles"
            ],
        )
        self.assertNotEqual(check_execution_role(unconditioned), [])


if __name__ == "__main__":
    unittest.main()
