//! `smoke`: proves that a running stage of the API works end to end, local or deployed, and exits
//! non-zero when anything does not.
//!
//! ```text
//! smoke --url https://abc123.execute-api.eu-west-1.amazonaws.com/prod --region eu-west-1 [--large] [--read-only]
//! ```
//!
//! `scripts/smoke` runs it after resolving the stage's URL, Region and credentials the way
//! `scripts/invoke` does; the credentials come in through the environment (`RILL_SMOKE_*`), never
//! on the command line where other users of the machine could read them. It prints one line per
//! check (see [`checks`] for what each proves) and a summary.

mod checks;
mod client;
mod export;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::client::{Credentials, Stage};
use crate::report::Report;

/// Check a running stage of the Rill API.
#[derive(Debug, Parser)]
#[command(name = "smoke", version)]
struct Args {
    /// The stage's base URL, stage included (http://127.0.0.1:3000/dev for the local gateway).
    #[arg(long)]
    url: String,
    /// The Region the requests are signed for.
    #[arg(long)]
    region: String,
    /// The access key id to sign with.
    #[arg(long, env = "RILL_SMOKE_ACCESS_KEY_ID", hide_env_values = true)]
    access_key_id: String,
    /// The secret access key to sign with.
    #[arg(long, env = "RILL_SMOKE_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: String,
    /// The session token of temporary credentials.
    #[arg(long, env = "RILL_SMOKE_SESSION_TOKEN", hide_env_values = true)]
    session_token: Option<String>,
    /// Also require an export larger than Lambda's 6 MB buffered limit (seed the stage first).
    #[arg(long)]
    large: bool,
    /// Write nothing: only the checks that read, or that API Gateway or the function refuses
    /// (for a production stage, where the order a full run cancels would stay).
    #[arg(long)]
    read_only: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let credentials = Credentials {
        access_key_id: args.access_key_id,
        secret_access_key: args.secret_access_key,
        session_token: args.session_token.filter(|token| !token.is_empty()),
    };
    let stage = match Stage::new(&args.url, &args.region, credentials) {
        Ok(stage) => stage,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    println!("smoke: {} ({})", args.url, args.region);
    if run(&stage, args.large, args.read_only).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs every check (every one that writes nothing when `read_only`); true when all passed.
async fn run(stage: &Stage, large: bool, read_only: bool) -> bool {
    let run = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let mut report = Report::default();

    report.record(
        "unsigned request is refused by API Gateway",
        checks::unsigned_is_refused(stage).await,
    );
    report.record(
        "request signed with a wrong secret is refused",
        checks::wrong_secret_is_refused(stage).await,
    );
    report.record(
        "a body the domain refuses gets 400 problem+json",
        checks::bad_body_is_refused(stage, &run).await,
    );

    let user = if read_only {
        report.not_run(
            "create a user, and the checks on it and its order",
            "--read-only",
        );
        None
    } else {
        report.record("create a user", checks::create_user(stage, &run).await)
    };
    if let Some(user) = &user {
        report.record("read the user", checks::read_user(stage, user).await);
        let renamed = report.record(
            "update the user with If-Match",
            checks::update_user(stage, user, &run).await,
        );
        match renamed {
            Some(_) => report.record(
                "a stale If-Match gets 412",
                checks::stale_if_match_is_refused(stage, user, &user.etag).await,
            ),
            None => {
                report.skip("a stale If-Match gets 412", "the update failed");
                None
            }
        };
        let order = report.record(
            "one order for two POSTs with one Idempotency-Key",
            checks::create_order_once(stage, user, &run).await,
        );
        if let Some(order) = &order {
            report.record(
                "list the user's orders",
                checks::list_has_the_order_once(stage, user, order).await,
            );
            report.record(
                "export of the user's orders is whole NDJSON",
                checks::user_export_is_whole(stage, user, order).await,
            );
        } else {
            for name in [
                "list the user's orders",
                "export of the user's orders is whole NDJSON",
            ] {
                report.skip(name, "no order was created");
            }
        }
        if let Some(order) = &order {
            report.record(
                "cancel the smoke order",
                checks::cancel_order(stage, order).await,
            );
        }
        report.record(
            "delete the smoke user",
            checks::delete_user(stage, user).await,
        );
    } else if !read_only {
        for name in [
            "read the user",
            "update the user with If-Match",
            "a stale If-Match gets 412",
            "one order for two POSTs with one Idempotency-Key",
            "list the user's orders",
            "export of the user's orders is whole NDJSON",
        ] {
            report.skip(name, "no user was created");
        }
    }
    // The whole export does not depend on the smoke user: it runs whatever happened above.
    let name = if large {
        "export streams more than Lambda's 6 MB buffered limit"
    } else {
        "export streams"
    };
    report.record(name, checks::export_streams(stage, large).await);
    report.finish()
}
