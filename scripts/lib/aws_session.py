"""What the scripts ask AWS through boto3 (which comes with the SAM CLI in .cache/api-venv).

Run with the venv's Python; each command prints plain text for a shell to read and exits non-zero
with a one-line reason on stderr, never a traceback:

    aws_session.py region                        the Region of the active profile (AWS_PROFILE or
                                                 default), empty when it names none
    aws_session.py credentials                   AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=...
                                                 [, AWS_SESSION_TOKEN=...] from the default chain
                                                 (environment, profiles, SSO, instance roles)
    aws_session.py outputs STACK REGION          every output of a CloudFormation stack, KEY=VALUE

boto3 resolves profiles and SSO sessions exactly as the AWS CLI does, so a user who can run
`aws sts get-caller-identity` gets the same credentials and Region here.
"""

import sys

NO_CREDENTIALS = "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or configure a profile (aws configure, aws sso login)"


def fail(message: str) -> "None":
    print(message, file=sys.stderr)
    sys.exit(1)


def region() -> None:
    import botocore.session

    print(botocore.session.Session().get_config_variable("region") or "")


def credentials() -> None:
    import boto3
    import botocore.exceptions

    try:
        found = boto3.Session().get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except botocore.exceptions.BotoCoreError as error:
        fail(f"error: AWS credentials: {error}")
    if frozen is None:
        fail(f"error: {NO_CREDENTIALS}")
    print(f"AWS_ACCESS_KEY_ID={frozen.access_key}")
    print(f"AWS_SECRET_ACCESS_KEY={frozen.secret_key}")
    if frozen.token:
        print(f"AWS_SESSION_TOKEN={frozen.token}")


def outputs(stack: str, region_name: str) -> None:
    import boto3
    import botocore.exceptions

    try:
        client = boto3.client("cloudformation", region_name=region_name)
        answer = client.describe_stacks(StackName=stack)
    except botocore.exceptions.NoCredentialsError:
        fail(NO_CREDENTIALS)
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {}).get("Message", str(error))
        fail(f"stack {stack} in {region_name}: {detail}")
    except botocore.exceptions.BotoCoreError as error:
        fail(f"stack {stack} in {region_name}: {error}")
    for output in answer["Stacks"][0].get("Outputs", []):
        print(f"{output['OutputKey']}={output['OutputValue']}")


def main(argv: "list[str]") -> None:
    match argv:
        case ["region"]:
            region()
        case ["credentials"]:
            credentials()
        case ["outputs", stack, region_name]:
            outputs(stack, region_name)
        case _:
            fail("usage: aws_session.py region | credentials | outputs STACK REGION")


if __name__ == "__main__":
    main(sys.argv[1:])
