"""What .github/workflows/pipeline.yml must say, checked on the file and shown to fail on broken copies.

Each check returns the problems it finds; a test asserts that the real workflow has none, and a second
test breaks one thing in a copy and asserts that the check reports it.
"""

import re
import unittest

from documents import assert_checks_pass_and_fail_when_broken, broken, triggers, workflow

ORDER = {
    "config": [],
    "test": ["config"],
    "build": ["test"],
    "deploy-staging": ["build"],
    "smoke-staging": ["deploy-staging"],
    "deploy-prod": ["smoke-staging"],
}
DEPLOY_JOBS = ["deploy-staging", "smoke-staging", "deploy-prod"]
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@"


def needs(job):
    found = job.get("needs", [])
    return [found] if isinstance(found, str) else list(found)


def steps(job):
    return job.get("steps", [])


def runs(job):
    """Every shell command of a job, one string per step."""
    return [step["run"] for step in steps(job) if "run" in step]


def uses(job, action):
    return [step for step in steps(job) if step.get("uses", "").startswith(action)]


def check_triggers(document):
    on = triggers(document)
    problems = []
    if set(on) != {"pull_request", "push"}:
        problems.append(f"the workflow runs on {sorted(on)}, not pull_request and push")
    if (on.get("push") or {}).get("branches") != ["main"]:
        problems.append("push must trigger on main only")
    build_if = document["jobs"].get("build", {}).get("if", "")
    if "github.event_name == 'push'" not in build_if or "refs/heads/main" not in build_if:
        problems.append("build must run only for a push to main (a pull request runs scripts/test only)")
    return problems


def check_order(document):
    jobs = document["jobs"]
    problems = []
    if set(jobs) != set(ORDER):
        problems.append(f"jobs are {sorted(jobs)}, expected {sorted(ORDER)}")
    for name, wanted in ORDER.items():
        if name in jobs and needs(jobs[name]) != wanted:
            problems.append(f"{name} needs {needs(jobs[name])}, expected {wanted}")
    test_runs = runs(jobs.get("test", {}))
    if not any(run.strip() == "scripts/test" for run in test_runs):
        problems.append("the test job must run scripts/test")
    if not any("scripts/check-pipeline-config" in run for run in runs(jobs.get("config", {}))):
        problems.append("the config job must check the variables first")
    return problems


def check_environments(document):
    jobs = document["jobs"]
    problems = []
    for name, job in jobs.items():
        for step in uses(job, CREDENTIALS_ACTION):
            role = step.get("with", {}).get("role-to-assume", "")
            match = re.fullmatch(r"\$\{\{ vars\.(STAGING|PROD)_(UPLOAD|DEPLOY)_ROLE_ARN \}\}", role)
            if not match:
                problems.append(f"{name} assumes {role!r}, not a role ARN variable")
                continue
            stage, kind = match.group(1).lower(), match.group(2)
            environment = job.get("environment")
            if kind == "DEPLOY" and environment != stage:
                problems.append(f"{name} assumes the {stage} deploy role outside the {stage} environment")
            if kind == "UPLOAD" and name != "build":
                problems.append(f"{name} assumes an upload role; only build uploads")
    if jobs.get("deploy-prod", {}).get("environment") != "prod":
        problems.append("deploy-prod must run in the prod environment (required reviewers)")
    return problems


def check_credentials(document):
    problems = []
    if document.get("permissions") != {"id-token": "write", "contents": "read"}:
        problems.append(f"permissions are {document.get('permissions')}, not id-token: write, contents: read")
    for name, job in document["jobs"].items():
        if "permissions" in job:
            problems.append(f"{name} overrides the workflow's permissions")
        for step in uses(job, CREDENTIALS_ACTION):
            inputs = step.get("with", {})
            for key in ("aws-access-key-id", "aws-secret-access-key", "aws-session-token"):
                if key in inputs:
                    problems.append(f"{name} passes {key}: OIDC only")
    text = repr(document)
    if "secrets." in text:
        problems.append("the workflow reads a secret; only role ARNs, as variables, are allowed")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if name in text:
            problems.append(f"the workflow mentions {name}")
    return problems


def check_build_once(document):
    jobs = document["jobs"]
    problems = []
    builds = [(name, run) for name, job in jobs.items() for run in runs(job) if "sam build" in run]
    if [name for name, _ in builds] != ["build"]:
        problems.append(f"sam build runs in {[name for name, _ in builds]}, expected once, in build")
    elif "Architecture=arm64" not in builds[0][1]:
        problems.append("the build is not for arm64")
    packages = [run for run in runs(jobs.get("build", {})) if "sam package" in run]
    for stage in ("staging", "prod"):
        wanted = [
            run for run in packages
            if f"${stage.upper()}_ARTIFACTS_BUCKET" in run and f"packaged-{stage}.yaml" in run
        ]
        if len(wanted) != 1:
            problems.append(f"build must sam package once into the {stage} bucket as packaged-{stage}.yaml")
    uploads = uses(jobs.get("build", {}), "actions/upload-artifact@")
    if not uploads or uploads[0]["with"].get("name") != "packaged-templates":
        problems.append("build must upload the packaged templates as an artifact")
    for name in DEPLOY_JOBS:
        for run in runs(jobs.get(name, {})):
            for forbidden in ("sam build", "sam package", "cargo ", "scripts/build", "scripts/deploy"):
                if forbidden in run:
                    problems.append(f"{name} runs `{forbidden.strip()}`: a deploy job never builds")
    for name, stage in (("deploy-staging", "staging"), ("deploy-prod", "prod")):
        job = jobs.get(name, {})
        downloads = uses(job, "actions/download-artifact@")
        if not downloads or downloads[0]["with"].get("name") != "packaged-templates":
            problems.append(f"{name} must download the packaged templates")
        deploys = [run for run in runs(job) if "sam deploy" in run]
        if len(deploys) != 1 or f"--template-file packaged-{stage}.yaml" not in deploys[0]:
            problems.append(f"{name} must sam deploy packaged-{stage}.yaml")
    return problems


def check_rollout(document):
    jobs = document["jobs"]
    problems = []
    wanted = {"deploy-staging": "DeploymentType=AllAtOnce", "deploy-prod": "DeploymentType=Canary"}
    for name, setting in wanted.items():
        deploys = [run for run in runs(jobs.get(name, {})) if "sam deploy" in run]
        if not deploys or setting not in deploys[0]:
            problems.append(f"{name} must deploy with {setting}")
    staging = runs(jobs.get("smoke-staging", {}))
    seed = [i for i, run in enumerate(staging) if 'scripts/seed --stack "$STAGING_STACK_NAME"' in run]
    smoke = [i for i, run in enumerate(staging) if run.startswith("scripts/smoke") and "--large" in run]
    if not seed or not smoke or seed[0] > smoke[0]:
        problems.append("smoke-staging must seed staging, then run scripts/smoke --large")
    prod = runs(jobs.get("deploy-prod", {}))
    deploy_at = [i for i, run in enumerate(prod) if "sam deploy" in run]
    prod_smoke = [i for i, run in enumerate(prod) if run.startswith("scripts/smoke")]
    if not prod_smoke or not deploy_at or prod_smoke[0] < deploy_at[0]:
        problems.append("deploy-prod must smoke-test prod after deploying")
    for i in prod_smoke:
        if "--large" in prod[i] or "--read-only" not in prod[i]:
            problems.append("prod's smoke test must be --read-only and without --large")
    if any("scripts/seed" in run for run in prod):
        problems.append("prod is never seeded")
    return problems


def check_concurrency(document):
    jobs = document["jobs"]
    problems = []
    groups = {name: job.get("concurrency", {}) for name, job in jobs.items()}
    before = {groups[name].get("group") for name in ("test", "build", "deploy-staging", "smoke-staging")}
    if len(before) != 1 or None in before:
        problems.append("the jobs before prod must share one concurrency group")
    for name in ("test", "build", "deploy-staging", "smoke-staging"):
        if groups[name].get("cancel-in-progress") is not True:
            problems.append(f"{name}: a newer push must cancel it")
    prod = groups.get("deploy-prod", {})
    if prod.get("cancel-in-progress") is not False or prod.get("group") in before:
        problems.append("deploy-prod: its own group, never cancelled half-way")
    return problems


def check_cache_and_pins(document):
    jobs = document["jobs"]
    problems = []
    if not re.fullmatch(r"\d+\.\d+\.\d+", str(document.get("env", {}).get("RUST_TOOLCHAIN", ""))):
        problems.append("RUST_TOOLCHAIN must pin an exact Rust version at the top of the workflow")
    for name in ("test", "build"):
        caches = uses(jobs.get(name, {}), "actions/cache@")
        key = caches[0]["with"].get("key", "") if caches else ""
        if "hashFiles('Cargo.lock')" not in key or "env.RUST_TOOLCHAIN" not in key:
            problems.append(f"{name} must cache cargo keyed on Cargo.lock and the toolchain")
        elif "target" not in caches[0]["with"].get("path", ""):
            problems.append(f"{name} must cache the target directory")
    text = repr(document)
    for pin in ("aws-sam-cli==", "cargo-lambda==", "pip install"):
        if pin in text:
            problems.append(f"the workflow installs with `{pin}`; the pins live in scripts/lib/api-tools.sh")
    return problems


CHECKS = {
    "triggers": (check_triggers, lambda d: triggers(d).pop("pull_request")),
    "order": (check_order, lambda d: d["jobs"]["deploy-prod"].update(needs=["deploy-staging"])),
    "environments": (check_environments, lambda d: d["jobs"]["deploy-prod"].pop("environment")),
    "credentials": (
        check_credentials,
        lambda d: uses(d["jobs"]["build"], CREDENTIALS_ACTION)[0]["with"].update(
            {"aws-access-key-id": "${{ secrets.AWS_ACCESS_KEY_ID }}"}
        ),
    ),
    "build once": (
        check_build_once,
        lambda d: d["jobs"]["deploy-prod"]["steps"].insert(
            1, {"run": "sam build --parameter-overrides Architecture=arm64"}
        ),
    ),
    "rollout": (
        check_rollout,
        lambda d: d["jobs"]["deploy-prod"]["steps"][-1].update(
            run='scripts/smoke --stack "$PROD_STACK_NAME" --large'
        ),
    ),
    "concurrency": (
        check_concurrency,
        lambda d: d["jobs"]["deploy-prod"]["concurrency"].update({"cancel-in-progress": True}),
    ),
    "cache and pins": (
        check_cache_and_pins,
        lambda d: uses(d["jobs"]["build"], "actions/cache@")[0]["with"].update(key="cargo-${{ runner.os }}"),
    ),
}


class WorkflowTest(unittest.TestCase):
    def test_the_workflow_passes_every_check_and_each_fails_on_a_broken_copy(self):
        assert_checks_pass_and_fail_when_broken(self, workflow(), CHECKS)

    def test_more_ways_to_break_the_order_and_the_build_are_caught(self):
        document = workflow()
        cases = [
            (check_order, lambda d: d["jobs"]["smoke-staging"].update(needs=["build"])),
            (check_order, lambda d: d["jobs"]["test"]["steps"][-1].update(run="cargo test")),
            (check_build_once, lambda d: d["jobs"]["deploy-staging"]["steps"].append({"run": "scripts/deploy"})),
            (check_build_once, lambda d: d["jobs"]["build"]["steps"].pop()),
            (check_environments, lambda d: d["jobs"]["smoke-staging"].pop("environment")),
            (check_credentials, lambda d: d.update(permissions="write-all")),
            (
                check_rollout,
                lambda d: d["jobs"]["deploy-prod"]["steps"][-1].update(run='scripts/smoke --stack "$PROD_STACK_NAME"'),
            ),
            (
                check_rollout,
                lambda d: d["jobs"]["smoke-staging"].update(
                    steps=[s for s in steps(d["jobs"]["smoke-staging"]) if "scripts/seed" not in s.get("run", "")]
                ),
            ),
        ]
        for i, (check, breakage) in enumerate(cases):
            with self.subTest(case=i):
                self.assertNotEqual(check(broken(document, breakage)), [])


if __name__ == "__main__":
    unittest.main()
