"""Tests of the deployed-API checks: the real template passes, and each check fails on a broken copy.

Every broken copy is made here, in memory, from the real template.yaml and openapi/api.yaml, then
transformed by AWS's SAM translator exactly as the real ones are, so a check is shown to catch the
mistake in the form a deployment would see it. Run by scripts/check-api:

    python -m unittest discover -s scripts/lib -p 'test_*.py'
"""

from __future__ import annotations

import copy
import logging
import unittest
from typing import Any, Callable

import apigateway_import_rules
import deployed_api_checks as checks
import sam_transform

DEFINITION_LOCATION = "openapi/api.yaml"
TEMPLATE = sam_transform.load_yaml(sam_transform.TEMPLATE)
DEFINITION = sam_transform.load_yaml(sam_transform.REPOSITORY / DEFINITION_LOCATION)

# The translator warns about a feature toggle it has no configuration for; it changes nothing here.
logging.getLogger("samtranslator").setLevel(logging.ERROR)

Mutation = Callable[[dict[str, Any]], None]


def transformed(
    template_change: Mutation | None = None, definition_change: Mutation | None = None
) -> dict[str, Any]:
    """The real sources, changed by the given mutations, through the SAM transform."""
    template = copy.deepcopy(TEMPLATE)
    definition = copy.deepcopy(DEFINITION)
    if template_change:
        template_change(template)
    if definition_change:
        definition_change(definition)

    def include(location: str) -> Any:
        if location != DEFINITION_LOCATION:
            raise AssertionError(f"unexpected include {location}")
        return definition

    return sam_transform.transform(template, include)


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method]


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


FUNCTIONS = ("UsersFunction", "OrdersFunction", "ExportFunction")

class ProblemsTestCase(unittest.TestCase):
    maxDiff = None

    def assertFound(self, found: list[str], *needles: str) -> None:
        """Some problem mentions every needle."""
        self.assertTrue(
            any(all(needle in problem for needle in needles) for problem in found),
            f"no problem mentions {needles}; found {found}",
        )


class SamTransformTest(unittest.TestCase):
    def test_the_included_definition_becomes_the_rest_api_body(self) -> None:
        template = transformed()
        (api,) = checks.resources(template, "AWS::ApiGateway::RestApi").values()
        self.assertEqual(api["Properties"]["Body"]["paths"], DEFINITION["paths"])
        self.assertEqual(api["Properties"]["Body"]["components"], DEFINITION["components"])

    def test_local_code_becomes_an_s3_location_as_sam_package_leaves_it(self) -> None:
        packaged = sam_transform.as_packaged(TEMPLATE)
        self.assertEqual(
            packaged["Resources"]["UsersFunction"]["Properties"]["CodeUri"],
            f"{sam_transform.PACKAGED_CODE_BUCKET}/functions/users.zip",
        )


class DeployedApiChecksTest(ProblemsTestCase):

    def problems_after(
        self, template_change: Mutation | None = None, definition_change: Mutation | None = None
    ) -> list[str]:
        return checks.problems(transformed(template_change, definition_change))

    def test_the_real_template_and_definition_pass_every_check(self) -> None:
        self.assertEqual(checks.problems(transformed()), [])

    # -- IAM auth on every method -------------------------------------------------------------

    def test_an_operation_that_only_inherits_the_root_security_is_not_aws_iam(self) -> None:
        def inherit(definition: dict[str, Any]) -> None:
            del operation(definition, "get", "/users")["security"]

        found = self.problems_after(definition_change=inherit)
        self.assertFound(found, "GET /users: not AWS_IAM")
        self.assertFound(found, "import: GET /users: no `security` of its own")

    def test_an_anonymous_alternative_is_not_aws_iam_only(self) -> None:
        def anonymous(definition: dict[str, Any]) -> None:
            operation(definition, "post", "/orders")["security"] = [{"sigv4": []}, {}]

        self.assertFound(self.problems_after(definition_change=anonymous), "POST /orders: not AWS_IAM only")

    def test_a_scheme_without_the_sigv4_authtype_is_not_aws_iam(self) -> None:
        def plain_api_key(definition: dict[str, Any]) -> None:
            del definition["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"]

        self.assertFound(
            self.problems_after(definition_change=plain_api_key), "GET /exports/users: not AWS_IAM only"
        )

    # -- Integrations -------------------------------------------------------------------------

    def test_an_export_that_is_buffered_or_calls_invoke_is_refused(self) -> None:
        def buffered_export(definition: dict[str, Any]) -> None:
            integration = operation(definition, "get", "/exports/orders")["x-amazon-apigateway-integration"]
            integration["responseTransferMode"] = "BUFFERED"
            integration["uri"]["Fn::Sub"] = (
                integration["uri"]["Fn::Sub"]
                .replace("2021-11-15", "2015-03-31")
                .replace("response-streaming-invocations", "invocations")
            )

        found = self.problems_after(definition_change=buffered_export)
        self.assertFound(found, "GET /exports/orders: responseTransferMode BUFFERED, not STREAM")
        self.assertFound(found, "GET /exports/orders: uri", "not the stream invocation URI")

    def test_an_export_may_wait_at_most_fifteen_minutes(self) -> None:
        def too_long(definition: dict[str, Any]) -> None:
            operation(definition, "get", "/exports/users")["x-amazon-apigateway-integration"][
                "timeoutInMillis"
            ] = 900_001

        self.assertFound(
            self.problems_after(definition_change=too_long), "GET /exports/users: timeoutInMillis 900001"
        )

    def test_a_buffered_route_may_wait_at_most_29_seconds_and_never_streams(self) -> None:
        def streaming_user(definition: dict[str, Any]) -> None:
            integration = operation(definition, "get", "/users/{userId}")["x-amazon-apigateway-integration"]
            integration["timeoutInMillis"] = 30_000
            integration["responseTransferMode"] = "STREAM"

        found = self.problems_after(definition_change=streaming_user)
        self.assertFound(found, "GET /users/{userId}: timeoutInMillis 30000")
        self.assertFound(found, "GET /users/{userId}: responseTransferMode STREAM, not BUFFERED")

    def test_every_integration_is_a_lambda_proxy_post_through_the_invoke_role(self) -> None:
        def other_wiring(definition: dict[str, Any]) -> None:
            integration = operation(definition, "patch", "/orders/{orderId}")[
                "x-amazon-apigateway-integration"
            ]
            integration["type"] = "aws"
            integration["httpMethod"] = "PATCH"
            del integration["credentials"]

        found = self.problems_after(definition_change=other_wiring)
        self.assertFound(found, "PATCH /orders/{orderId}: integration type aws")
        self.assertFound(found, "PATCH /orders/{orderId}: integration httpMethod PATCH")
        self.assertFound(found, "PATCH /orders/{orderId}: credentials None")

    def test_a_uri_must_name_a_function_of_the_stack(self) -> None:
        def unknown_function(definition: dict[str, Any]) -> None:
            integration = operation(definition, "get", "/orders")["x-amazon-apigateway-integration"]
            integration["uri"]["Fn::Sub"] = integration["uri"]["Fn::Sub"].replace(
                "OrdersFunction", "BillingFunction"
            )

        self.assertFound(
            self.problems_after(definition_change=unknown_function), "GET /orders: uri names BillingFunction"
        )

    def test_a_uri_must_call_the_function_alias_not_the_function(self) -> None:
        def unqualified(definition: dict[str, Any]) -> None:
            integration = operation(definition, "get", "/exports/orders")["x-amazon-apigateway-integration"]
            integration["uri"]["Fn::Sub"] = integration["uri"]["Fn::Sub"].replace(
                "${ExportFunctionAliaslive}", "${ExportFunction.Arn}"
            )

        self.assertFound(
            self.problems_after(definition_change=unqualified),
            "GET /exports/orders: uri",
            "not the stream invocation URI",
        )

    def test_a_uri_must_name_an_alias_the_transform_generates(self) -> None:
        def no_alias(template: dict[str, Any]) -> None:
            del template["Globals"]["Function"]["AutoPublishAlias"]
            for name in FUNCTIONS:
                del resource(template, name)["DeploymentPreference"]

        self.assertFound(
            self.problems_after(no_alias), "GET /users: uri names UsersFunctionAliaslive, not an alias"
        )

    # -- One stage ------------------------------------------------------------------------------

    def test_without_an_openapi_version_sam_adds_a_stage_named_stage(self) -> None:
        def no_version(template: dict[str, Any]) -> None:
            del resource(template, "Api")["OpenApiVersion"]

        self.assertFound(self.problems_after(no_version), "the deployment creates a stage of its own (Stage)")

    # -- The invoke role ------------------------------------------------------------------------

    def test_a_trust_condition_aws_does_not_document_is_refused(self) -> None:
        def source_account(template: dict[str, Any]) -> None:
            trust = resource(template, "ApiGatewayInvokeRole")["AssumeRolePolicyDocument"]["Statement"][0]
            trust["Condition"] = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}

        self.assertFound(self.problems_after(source_account), "ApiGatewayInvokeRole: trust condition")

    def test_the_invoke_role_is_trusted_by_api_gateway_alone(self) -> None:
        def lambda_too(template: dict[str, Any]) -> None:
            trust = resource(template, "ApiGatewayInvokeRole")["AssumeRolePolicyDocument"]["Statement"][0]
            trust["Principal"] = {"Service": ["apigateway.amazonaws.com", "lambda.amazonaws.com"]}

        self.assertFound(self.problems_after(lambda_too), "ApiGatewayInvokeRole: trusts")

    def test_the_invoke_role_may_only_invoke_the_functions(self) -> None:
        def broader(template: dict[str, Any]) -> None:
            statement = resource(template, "ApiGatewayInvokeRole")["Policies"][0]["PolicyDocument"][
                "Statement"
            ][0]
            statement["Action"].append("lambda:UpdateFunctionCode")
            statement["Resource"].append("*")

        found = self.problems_after(broader)
        self.assertFound(found, "ApiGatewayInvokeRole: may ['lambda:UpdateFunctionCode']")
        self.assertFound(found, 'ApiGatewayInvokeRole: may invoke "*"')

    def test_the_invoke_role_must_grant_the_aliases_not_the_unqualified_functions(self) -> None:
        def unqualified(template: dict[str, Any]) -> None:
            statement = resource(template, "ApiGatewayInvokeRole")["Policies"][0]["PolicyDocument"][
                "Statement"
            ][0]
            statement["Resource"] = [{"Fn::GetAtt": [name, "Arn"]} for name in FUNCTIONS]

        found = self.problems_after(unqualified)
        self.assertFound(found, 'ApiGatewayInvokeRole: may invoke {"Fn::GetAtt": ["UsersFunction", "Arn"]}')
        self.assertFound(found, "ApiGatewayInvokeRole: cannot invoke")

    # -- Secrets in function configuration -----------------------------------------------------

    def test_a_dynamic_reference_in_the_environment_is_refused(self) -> None:
        def resolved_key(template: dict[str, Any]) -> None:
            template["Globals"]["Function"]["Environment"]["Variables"]["RILL_CURSOR_KEY"] = {
                "Fn::Sub": "{{resolve:secretsmanager:${CursorKeySecret}:SecretString}}"
            }

        self.assertFound(
            self.problems_after(resolved_key), "UsersFunction: RILL_CURSOR_KEY holds a dynamic reference"
        )

    def test_a_literal_key_in_the_environment_is_refused(self) -> None:
        def literal_key(template: dict[str, Any]) -> None:
            resource(template, "OrdersFunction")["Environment"] = {
                "Variables": {"RILL_CURSOR_KEY": "0123456789abcdef0123456789abcdef"}
            }

        self.assertFound(
            self.problems_after(literal_key), "OrdersFunction: RILL_CURSOR_KEY is a literal value"
        )

    # -- FailOnWarnings and the account singletons ------------------------------------------

    def test_an_import_that_may_drop_part_of_the_definition_is_refused(self) -> None:
        def tolerant(template: dict[str, Any]) -> None:
            del resource(template, "Api")["FailOnWarnings"]

        self.assertFound(self.problems_after(tolerant), "Api: FailOnWarnings is not true")

    def test_the_account_logging_setting_is_not_part_of_the_application_stack(self) -> None:
        def account_setting(template: dict[str, Any]) -> None:
            template["Resources"]["ApiGatewayAccount"] = {
                "Type": "AWS::ApiGateway::Account",
                "Properties": {"CloudWatchRoleArn": "arn:aws:iam::123456789012:role/logs"},
            }

        self.assertFound(self.problems_after(account_setting), "ApiGatewayAccount: AWS::ApiGateway::Account")

    def test_an_unsupported_schema_keyword_fails_through_the_transform_too(self) -> None:
        def example(definition: dict[str, Any]) -> None:
            definition["components"]["schemas"]["Email"]["example"] = "ada@example.com"

        self.assertFound(
            self.problems_after(definition_change=example), "import: #/components/schemas/Email: `example`"
        )


class ImportRulesTest(ProblemsTestCase):
    """AWS's documented import exceptions, each on a broken copy of the real definition."""

    def problems_after(self, change: Mutation) -> list[str]:
        definition = copy.deepcopy(DEFINITION)
        change(definition)
        return apigateway_import_rules.problems(definition)

    def schema(self, definition: dict[str, Any], name: str) -> dict[str, Any]:
        return definition["components"]["schemas"][name]

    def test_the_real_definition_has_none_of_them(self) -> None:
        self.assertEqual(apigateway_import_rules.problems(DEFINITION), [])

    def test_each_unsupported_model_keyword_is_refused_wherever_it_sits(self) -> None:
        cases = {
            "example": lambda d: self.schema(d, "LineItem")["properties"]["sku"].update(example="BOOK-42"),
            "discriminator": lambda d: self.schema(d, "Problem").update(
                discriminator={"propertyName": "type"}
            ),
            "exclusiveMinimum": lambda d: self.schema(d, "MinorUnits").update(exclusiveMinimum=True),
            "readOnly": lambda d: self.schema(d, "Order")["properties"]["total"].update(readOnly=True),
            "default": lambda d: self.schema(d, "OrderStatus").update(default="pending"),
            "deprecated": lambda d: self.schema(d, "User").update(deprecated=True),
            "oneOf": lambda d: self.schema(d, "UserPatch").update(
                oneOf=[{"required": ["email"]}, {"required": ["name"]}]
            ),
        }
        for keyword, change in cases.items():
            with self.subTest(keyword=keyword):
                self.assertFound(self.problems_after(change), f"`{keyword}` in a model")

    def test_int32_int64_and_decimal_formats_are_refused(self) -> None:
        for form in ("int32", "int64", "decimal"):
            with self.subTest(format=form):
                found = self.problems_after(lambda d, f=form: self.schema(d, "Version").update(format=f))
                self.assertFound(found, "#/components/schemas/Version", f"`format: {form}`")

    def test_a_parameter_default_is_refused(self) -> None:
        def limit_default(definition: dict[str, Any]) -> None:
            definition["components"]["parameters"]["Limit"]["schema"]["default"] = 20

        self.assertFound(
            self.problems_after(limit_default), "#/components/parameters/Limit/schema: `default`"
        )

    def test_a_model_name_that_is_not_alphanumeric_is_refused(self) -> None:
        def underscore(definition: dict[str, Any]) -> None:
            definition["components"]["schemas"]["Field_Error"] = definition["components"]["schemas"][
                "FieldError"
            ]

        self.assertFound(
            self.problems_after(underscore), "Field_Error: Model names can only contain alphanumeric"
        )

    def test_an_inline_primitive_response_schema_is_refused(self) -> None:
        def inline_csv(definition: dict[str, Any]) -> None:
            definition["components"]["responses"]["UsersExport"]["content"]["text/csv"]["schema"] = {
                "type": "string"
            }

        self.assertFound(
            self.problems_after(inline_csv),
            "UsersExport/content/text~1csv/schema: an inline schema of a primitive type",
        )

    def test_nullable_is_refused_where_a_request_body_is_validated_and_only_there(self) -> None:
        def nullable_name(definition: dict[str, Any]) -> None:
            self.schema(definition, "UserName")["nullable"] = True

        self.assertFound(
            self.problems_after(nullable_name),
            "#/components/schemas/UserName: `nullable` in a schema of a request body",
        )
        # NextCursor is nullable and only ever in responses, which no validator checks.
        self.assertTrue(self.schema(DEFINITION, "NextCursor").get("nullable"))

    def test_an_extension_inside_a_request_schema_is_refused(self) -> None:
        def hidden_rule(definition: dict[str, Any]) -> None:
            self.schema(definition, "NewOrder")["x-rill-rule"] = "total below 1000"

        self.assertFound(self.problems_after(hidden_rule), "#/components/schemas/NewOrder: `x-rill-rule`")

    def test_a_customised_request_too_large_response_is_refused(self) -> None:
        def custom_413(definition: dict[str, Any]) -> None:
            definition["x-amazon-apigateway-gateway-responses"]["REQUEST_TOO_LARGE"] = {
                "statusCode": 413,
                "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
            }

        self.assertFound(self.problems_after(custom_413), "gateway-responses/REQUEST_TOO_LARGE")

    def test_an_operation_without_its_own_security_is_refused(self) -> None:
        def inherit(definition: dict[str, Any]) -> None:
            del operation(definition, "delete", "/users/{userId}")["security"]

        self.assertFound(self.problems_after(inherit), "DELETE /users/{userId}: no `security` of its own")


if __name__ == "__main__":
    unittest.main()
