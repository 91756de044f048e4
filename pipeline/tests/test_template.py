"""What template.yaml, and the CloudFormation the SAM transform makes of it, must say for a safe
rollout: every function publishes the `live` alias and deploys through CodeDeploy with its alarms, the
API calls only the aliases, the alarms watch the new version and the API's 5XX, and every checkov skip
gives its reason.

The transformed template is target/sam/transformed.json (scripts/lib/sam_transform.py, which
scripts/check-pipeline runs first). Each check returns problems; the real documents have none, and a
copy broken for each check has some.
"""

import re
import unittest

from documents import (
    assert_checks_pass_and_fail_when_broken,
    bootstrap,
    template,
    transformed,
)

ALIAS = "live"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def functions(document):
    return {
        name: resource
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def of_type(document, kind):
    return {name: r for name, r in document["Resources"].items() if r["Type"] == kind}


def check_deployment_preferences(document):
    problems = []
    global_alias = document.get("Globals", {}).get("Function", {}).get("AutoPublishAlias")
    parameter = document.get("Parameters", {}).get("DeploymentType", {})
    if parameter.get("Default") != "AllAtOnce":
        problems.append("DeploymentType must default to AllAtOnce (a developer's stack, staging)")
    if not any(value.startswith("Canary") for value in parameter.get("AllowedValues", [])):
        problems.append("DeploymentType must allow a canary for prod")
    for name, function in functions(document).items():
        properties = function["Properties"]
        if properties.get("AutoPublishAlias", global_alias) != ALIAS:
            problems.append(f"{name} does not publish the {ALIAS} alias")
        preference = properties.get("DeploymentPreference", {})
        if preference.get("Type") != {"Ref": "DeploymentType"}:
            problems.append(f"{name}: DeploymentPreference.Type must be the DeploymentType parameter")
        alarms = preference.get("Alarms", [])
        for wanted in (f"{name}ErrorsAlarm", "Api5xxAlarm"):
            if {"Ref": wanted} not in alarms:
                problems.append(f"{name}: its deployment is not rolled back by {wanted}")
    return problems


def check_alarms(document):
    problems = []
    alarms = of_type(document, "AWS::CloudWatch::Alarm")
    for name in functions(document):
        alarm = alarms.get(f"{name}ErrorsAlarm", {}).get("Properties", {})
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        if (alarm.get("Namespace"), alarm.get("MetricName")) != ("AWS/Lambda", "Errors"):
            problems.append(f"{name}ErrorsAlarm must watch AWS/Lambda Errors")
        if dimensions.get("FunctionName") != {"Ref": name}:
            problems.append(f"{name}ErrorsAlarm must watch {name}")
        if dimensions.get("Resource") != {"Fn::Sub": f"${{{name}}}:{ALIAS}"}:
            problems.append(f"{name}ErrorsAlarm must watch the {ALIAS} alias")
        if dimensions.get("ExecutedVersion") != {"Fn::GetAtt": [name, "Version.Version"]}:
            problems.append(f"{name}ErrorsAlarm must watch the version this deployment publishes")
    api = alarms.get("Api5xxAlarm", {}).get("Properties", {})
    dimensions = {d["Name"]: d["Value"] for d in api.get("Dimensions", [])}
    if (api.get("Namespace"), api.get("MetricName")) != ("AWS/ApiGateway", "5XXError"):
        problems.append("Api5xxAlarm must watch AWS/ApiGateway 5XXError")
    api_name = document["Resources"].get("Api", {}).get("Properties", {}).get("Name")
    if api_name is None or dimensions.get("ApiName") != api_name:
        problems.append("Api5xxAlarm's ApiName must be the name the Api is given")
    if dimensions.get("Stage") != {"Ref": "StageName"}:
        problems.append("Api5xxAlarm must watch the stack's stage")
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        if properties.get("TreatMissingData") != "notBreaching" or properties.get("Threshold") != 0:
            problems.append(f"{name}: any error must fire it, and no traffic must not")
    return problems


def check_transformed_rollout(document):
    problems = []
    resources = document["Resources"]
    for name in of_type(document, "AWS::Lambda::Function"):
        alias = resources.get(f"{name}Alias{ALIAS}", {})
        if alias.get("Type") != "AWS::Lambda::Alias" or alias["Properties"].get("FunctionName") != {"Ref": name}:
            problems.append(f"the transform generates no {name}Alias{ALIAS}")
            continue
        update = alias.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {})
        group = resources.get((update.get("DeploymentGroupName") or {}).get("Ref"), {})
        properties = group.get("Properties", {})
        alarms = properties.get("AlarmConfiguration", {})
        if not alarms.get("Enabled") or {"Name": {"Ref": f"{name}ErrorsAlarm"}} not in alarms.get("Alarms", []):
            problems.append(f"{name}: its CodeDeploy deployment group does not watch {name}ErrorsAlarm")
        events = properties.get("AutoRollbackConfiguration", {}).get("Events", [])
        if "DEPLOYMENT_STOP_ON_ALARM" not in events:
            problems.append(f"{name}: an alarm does not roll its deployment back")
    body = resources.get("Api", {}).get("Properties", {}).get("Body", {})
    for path, item in body.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            uri = operation.get("x-amazon-apigateway-integration", {}).get("uri", {}).get("Fn::Sub", "")
            target = re.search(r"/functions/\$\{([A-Za-z0-9]+)\}/", uri)
            kind = resources.get(target.group(1), {}).get("Type") if target else None
            if kind != "AWS::Lambda::Alias":
                problems.append(f"{method.upper()} {path}: the uri {uri} does not call an alias of the stack")
    role = resources.get("ApiGatewayInvokeRole", {}).get("Properties", {})
    granted = [
        resource
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        for resource in statement["Resource"]
    ]
    wanted = [{"Ref": f"{name}Alias{ALIAS}"} for name in of_type(document, "AWS::Lambda::Function")]
    if sorted(map(str, granted)) != sorted(map(str, wanted)):
        problems.append(f"the invoke role grants {granted}, not the aliases {wanted}")
    return problems


def check_skips_give_reasons(document):
    problems = []
    for name, resource in document["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            if not re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id", ""))):
                problems.append(f"{name}: checkov skip {skip} names no check")
            if len(str(skip.get("comment", "")).split()) < 8:
                problems.append(f"{name}: checkov skip {skip.get('id')} gives no reason")
    return problems


def drop_api_alarm(document):
    preference = document["Resources"]["ExportFunction"]["Properties"]["DeploymentPreference"]
    preference["Alarms"] = [a for a in preference["Alarms"] if a != {"Ref": "Api5xxAlarm"}]


def unqualified_uri(document):
    operation = document["Resources"]["Api"]["Properties"]["Body"]["paths"]["/users"]["get"]
    integration = operation["x-amazon-apigateway-integration"]
    integration["uri"]["Fn::Sub"] = integration["uri"]["Fn::Sub"].replace("${UsersFunctionAliaslive}", "${UsersFunction.Arn}")


def reasonless_skip(document):
    document["Resources"]["UsersTable"]["Metadata"]["checkov"]["skip"][0]["comment"] = "n/a"


TEMPLATE_CHECKS = {
    "deployment preferences": (check_deployment_preferences, drop_api_alarm),
    "alarms": (
        check_alarms,
        lambda d: d["Resources"]["OrdersFunctionErrorsAlarm"]["Properties"]["Dimensions"].pop(2),
    ),
    "skips give reasons": (check_skips_give_reasons, reasonless_skip),
}
TRANSFORMED_CHECKS = {
    "rollout": (check_transformed_rollout, unqualified_uri),
}


class TemplateTest(unittest.TestCase):
    def test_the_template_passes_every_check_and_each_fails_on_a_broken_copy(self):
        assert_checks_pass_and_fail_when_broken(self, template(), TEMPLATE_CHECKS)

    def test_the_transformed_template_passes_every_check_and_each_fails_on_a_broken_copy(self):
        assert_checks_pass_and_fail_when_broken(self, transformed(), TRANSFORMED_CHECKS)

    def test_the_bootstrap_template_skips_give_reasons(self):
        self.assertEqual(check_skips_give_reasons(bootstrap()), [])

    def test_staging_deploys_at_once_unless_a_stage_asks_for_a_canary(self):
        broken_default = template()
        broken_default["Parameters"]["DeploymentType"]["Default"] = "Canary10Percent5Minutes"
        self.assertNotEqual(check_deployment_preferences(broken_default), [])

    def test_a_deployment_group_without_its_alarm_or_rollback_is_caught(self):
        document = transformed()
        document["Resources"]["UsersFunctionDeploymentGroup"]["Properties"]["AutoRollbackConfiguration"][
            "Events"
        ] = ["DEPLOYMENT_FAILURE"]
        self.assertNotEqual(check_transformed_rollout(document), [])
        document = transformed()
        del document["Resources"]["OrdersFunctionAliaslive"]
        self.assertNotEqual(check_transformed_rollout(document), [])


if __name__ == "__main__":
    unittest.main()
