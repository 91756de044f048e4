//! `--watch` reloads the API model when the template or its OpenAPI file changes, through the
//! `rill-gateway` binary serving a copy of the fixture: an edit takes effect without a restart,
//! and a broken edit leaves the previous model serving, with the error in the log.
//!
//! The copy lives in a temporary directory outside any cargo workspace, so the gateway rebuilds
//! no function there: what is tested is the API model alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::raw_http::RawResponse;
use crate::support::{ServedGateway, fixture};

/// How long an edit may take to be served (the watcher waits for the files to be quiet first).
const RELOAD_DEADLINE: Duration = Duration::from_secs(10);

/// A route to FixtureFunction that the fixture does not have, as an OpenAPI path item.
fn added_route(function: &str) -> String {
    format!(
        r#"  "/added":
    get:
      responses:
        "200":
          description: OK
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri:
          Fn::Sub: "arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{function}.Arn}}/invocations"
"#
    )
}

/// The fixture template and its OpenAPI file, copied into a temporary directory.
struct ApiFiles {
    dir: tempfile::TempDir,
}

impl ApiFiles {
    fn copy_fixture() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for name in ["template.yaml", "openapi.yaml"] {
            std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn template(&self) -> PathBuf {
        self.path("template.yaml")
    }

    /// Rewrites `name` with `from` replaced by `to` (which must be there).
    fn edit(&self, name: &str, from: &str, to: &str) {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} is not in {name}");
        write(&path, &text.replacen(from, to, 1));
    }

    /// The fixture's OpenAPI file with `route` added before `/echo`.
    fn openapi_with(&self, route: &str) -> String {
        std::fs::read_to_string(fixture("openapi.yaml"))
            .unwrap()
            .replacen("  \"/echo\":\n", &format!("{route}  \"/echo\":\n"), 1)
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// Requests `target` until it answers `status`; panics with the gateway's log after the deadline.
async fn poll_until(gateway: &ServedGateway, target: &str, status: u16) -> RawResponse {
    let deadline = tokio::time::Instant::now() + RELOAD_DEADLINE;
    loop {
        let response = gateway.get(target).await;
        if response.status == status {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "GET {target} still answers {} instead of {status}; log:\n{}",
            response.status,
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The fixture function's echo: its process id and environment.
fn echo(response: &RawResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_str(&response.text()).unwrap()
}

#[tokio::test]
async fn a_route_added_to_the_openapi_file_is_served_without_a_restart() {
    // Given the gateway watching a copy of the fixture, which has no /added route
    let files = ApiFiles::copy_fixture();
    let gateway = ServedGateway::start(&files.template(), &["--watch"]);
    assert_eq!(gateway.get("/echo").await.status, 200);
    assert_eq!(gateway.get("/added").await.status, 403);
    // When the route is added to the OpenAPI file
    write(
        &files.path("openapi.yaml"),
        &files.openapi_with(&added_route("FixtureFunction")),
    );
    // Then it is served, and the log says what was reloaded
    poll_until(&gateway, "/added", 200).await;
    let reloaded = gateway.wait_for("reloaded the API").await;
    assert!(reloaded.contains("openapi.yaml changed"), "{reloaded}");
    assert!(reloaded.contains("routes=18"), "{reloaded}");
    // And the routes that were there still are
    assert_eq!(gateway.get("/echo").await.status, 200);
}

#[tokio::test]
async fn a_functions_environment_edited_in_the_template_starts_new_instances_of_it_only() {
    // Given warm instances of FixtureFunction and SlowFunction
    let files = ApiFiles::copy_fixture();
    let gateway = ServedGateway::start(&files.template(), &["--watch"]);
    let before = echo(&gateway.get("/echo").await);
    assert_eq!(before["env"]["OVERRIDDEN"], "from-function");
    let slow = echo(&gateway.get("/slow").await)["pid"].clone();
    // When FixtureFunction's environment changes in the template while it handles a request
    let in_flight = gateway.get("/echo?behaviour=sleep&ms=1500");
    let edit = async {
        gateway.wait_for_count("fixture handling", 3).await;
        files.edit(
            "template.yaml",
            "OVERRIDDEN: from-function",
            "OVERRIDDEN: edited",
        );
        gateway.wait_for("reloaded the API").await
    };
    let (in_flight, reloaded) = tokio::join!(in_flight, edit);
    assert!(reloaded.contains("template.yaml changed"), "{reloaded}");
    assert!(
        reloaded.contains(r#"changed=["FixtureFunction"]"#),
        "{reloaded}"
    );
    assert!(reloaded.contains("draining=1"), "{reloaded}");
    // Then the request in flight finished on the instance it started on
    let in_flight = echo(&in_flight);
    assert_eq!(in_flight["pid"], before["pid"]);
    assert_eq!(in_flight["env"]["OVERRIDDEN"], "from-function");
    // And the next request starts a new instance with the new environment
    let after = echo(&gateway.get("/echo").await);
    assert_eq!(after["env"]["OVERRIDDEN"], "edited");
    assert_ne!(after["pid"], before["pid"]);
    // And the unchanged function kept its warm instance
    assert_eq!(echo(&gateway.get("/slow").await)["pid"], slow);
}

#[tokio::test]
async fn a_broken_edit_leaves_the_previous_api_serving_until_it_is_fixed() {
    // Given the gateway watching a copy of the fixture
    let files = ApiFiles::copy_fixture();
    let openapi = files.path("openapi.yaml");
    let gateway = ServedGateway::start(&files.template(), &["--watch"]);
    assert_eq!(gateway.get("/echo").await.status, 200);

    // When the OpenAPI file is not YAML any more
    write(&openapi, &files.openapi_with("  \"/added\": [get\n"));
    // Then the error is logged, naming the file, and the previous API keeps serving
    gateway.wait_for("the API cannot be loaded").await;
    let log = gateway.log();
    assert!(log.contains("openapi.yaml"), "{log}");
    assert!(log.contains("the previous one keeps serving"), "{log}");
    assert_eq!(gateway.get("/echo").await.status, 200);
    assert_eq!(gateway.get("/added").await.status, 403);

    // When it is YAML again but its new route names a function the template does not define
    write(&openapi, &files.openapi_with(&added_route("GhostFunction")));
    // Then that is refused too, and nothing of the half-valid model is served
    gateway.wait_for_count("the API cannot be loaded", 2).await;
    assert!(gateway.log().contains("GhostFunction"), "{}", gateway.log());
    assert_eq!(gateway.get("/added").await.status, 403);
    assert_eq!(gateway.get("/echo").await.status, 200);

    // When it is fixed
    write(
        &openapi,
        &files.openapi_with(&added_route("FixtureFunction")),
    );
    // Then the new API is served
    poll_until(&gateway, "/added", 200).await;
    assert_eq!(gateway.get("/echo").await.status, 200);
}
