"""Offline tests of deployed_methods.compare on GetMethod answers shaped as API Gateway returns them
(https://docs.aws.amazon.com/apigateway/latest/api/API_GetMethod.html), against openapi/api.yaml.

    .cache/api-venv/bin/python -m unittest scripts/lib/test_deployed_methods.py
"""

import copy
import os
import unittest

import yaml

import deployed_methods

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def get_method(method: str, path: str, mode: str, auth: str = "AWS_IAM") -> dict:
    """A GetMethod answer for a Lambda proxy method, as boto3 returns it (metadata left out)."""
    function = "export" if path.startswith("/exports/") else "users"
    answer = {
        "httpMethod": method,
        "authorizationType": auth,
        "apiKeyRequired": False,
        "requestValidatorId": "abc123",
        "methodIntegration": {
            "type": "AWS_PROXY",
            "httpMethod": "POST",
            "uri": f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:{function}/invocations",
            "credentials": "arn:aws:iam::123456789012:role/rill-ApiGatewayInvokeRole",
            "passthroughBehavior": "WHEN_NO_MATCH",
            "timeoutInMillis": 900000 if mode == "STREAM" else 29000,
            "cacheNamespace": "r1",
            "cacheKeyParameters": [],
        },
    }
    # API Gateway leaves out a field at its default: BUFFERED may come back absent.
    if mode != "BUFFERED":
        answer["methodIntegration"]["responseTransferMode"] = mode
    return answer


class CompareWithTheDefinition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(REPO, "openapi", "api.yaml"), encoding="utf-8") as file:
            cls.spec = yaml.safe_load(file)
        cls.expected = deployed_methods.expected_methods(cls.spec)

    def deployed_as_defined(self) -> dict:
        return {
            (method, path): get_method(method, path, want["responseTransferMode"])
            for (method, path), want in self.expected.items()
        }

    def test_the_definition_asks_for_iam_everywhere_and_streams_only_exports(self):
        self.assertGreaterEqual(len(self.expected), 12)
        for (method, path), want in self.expected.items():
            self.assertEqual(want["authorizationType"], "AWS_IAM", f"{method} {path}")
            streamed = path.startswith("/exports/")
            self.assertEqual(want["responseTransferMode"], "STREAM" if streamed else "BUFFERED", path)

    def test_a_stage_deployed_as_defined_matches(self):
        matches, problems = deployed_methods.compare(self.spec, self.deployed_as_defined())
        self.assertEqual(problems, [])
        self.assertEqual(len(matches), len(self.expected))

    def test_an_export_deployed_buffered_is_a_difference(self):
        deployed = self.deployed_as_defined()
        del deployed[("GET", "/exports/orders")]["methodIntegration"]["responseTransferMode"]
        _, problems = deployed_methods.compare(self.spec, deployed)
        self.assertEqual(
            problems,
            ["GET /exports/orders: responseTransferMode BUFFERED, expected STREAM"],
        )

    def test_a_method_without_iam_is_a_difference(self):
        deployed = self.deployed_as_defined()
        deployed[("DELETE", "/users/{userId}")]["authorizationType"] = "NONE"
        _, problems = deployed_methods.compare(self.spec, deployed)
        self.assertEqual(problems, ["DELETE /users/{userId}: authorizationType NONE, expected AWS_IAM"])

    def test_a_missing_or_extra_method_is_a_difference(self):
        deployed = self.deployed_as_defined()
        del deployed[("POST", "/orders")]
        deployed[("PUT", "/orders")] = copy.deepcopy(deployed[("GET", "/orders")])
        # CORS preflights are not operations of the definition and are not reported.
        deployed[("OPTIONS", "/orders")] = get_method("OPTIONS", "/orders", "BUFFERED", auth="NONE")
        _, problems = deployed_methods.compare(self.spec, deployed)
        self.assertEqual(
            problems,
            ["POST /orders: not deployed", "PUT /orders: deployed but not in the definition"],
        )


if __name__ == "__main__":
    unittest.main()
