"""scripts/check-pipeline-config, run as the workflow's first job runs it: every variable the workflow
reads is checked, and a missing, empty or malformed one is named."""

import os
import re
import subprocess
import unittest

from documents import REPO, workflow

SCRIPT = REPO / "scripts" / "check-pipeline-config"
ACCOUNT = "123456789012"


def good_variables():
    variables = {}
    for stage in ("STAGING", "PROD"):
        lower = stage.lower()
        variables.update(
            {
                f"{stage}_REGION": "eu-west-1",
                f"{stage}_STACK_NAME": f"rill-{lower}",
                f"{stage}_ARTIFACTS_BUCKET": "rill-pipeline-artifactsbucket-1a2b3c",
                f"{stage}_UPLOAD_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/rill-pipeline-{stage.title()}UploadRole-X",
                f"{stage}_DEPLOY_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/rill-pipeline-{stage.title()}DeployRole-X",
                f"{stage}_CFN_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/rill-pipeline-CloudFormationExecutionRole-X",
            }
        )
    return variables


def run(variables):
    environment = {key: value for key, value in os.environ.items() if not re.match(r"(STAGING|PROD)_", key)}
    environment.update(variables)
    return subprocess.run([str(SCRIPT)], env=environment, capture_output=True, text=True, check=False)


class ConfigTest(unittest.TestCase):
    def test_every_variable_the_workflow_reads_is_checked(self):
        wanted = {name for name, value in workflow()["env"].items() if str(value).startswith("${{ vars.")}
        self.assertEqual(wanted, set(good_variables()))

    def test_a_complete_set_passes(self):
        result = run(good_variables())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_each_missing_empty_or_malformed_variable_is_named(self):
        for name in good_variables():
            for value in ("", "not valid!"):
                with self.subTest(variable=name, value=value):
                    variables = good_variables()
                    variables[name] = value
                    result = run(variables)
                    self.assertNotEqual(result.returncode, 0)
                    self.assertIn(f"::error::{name} is", result.stdout)

    def test_two_stages_on_one_stack_are_refused(self):
        variables = good_variables()
        variables["PROD_STACK_NAME"] = variables["STAGING_STACK_NAME"]
        result = run(variables)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("share one stack", result.stdout)


if __name__ == "__main__":
    unittest.main()
