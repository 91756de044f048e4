//! A local API Gateway for REST APIs with response streaming, running the real Lambda function
//! binaries as child processes over the Lambda Runtime API. No Docker.
//!
//! The request path, in one direction:
//!
//! 1. [`server`] accepts `http://HOST:PORT/{stage}/...` within API Gateway's size quotas
//!    ([`request_limits`]) and matches the route ([`routing`]) from the API definition that
//!    [`config`] read from the SAM template and its OpenAPI file ([`template`] evaluates the
//!    intrinsic functions);
//! 2. the request [`guard`]s run (SigV4 authorization, request validation);
//! 3. [`event`] builds the REST (payload format 1.0) proxy event;
//! 4. [`lambda`] hands it to a warm or new instance of the function through its Runtime API;
//! 5. [`integration`] turns the function's answer (buffered JSON or a prelude + body stream) into
//!    the HTTP response, or into API Gateway's own errors ([`gateway_response`]).
//!
//! Beside the request path, [`watch`] (`--watch`) rebuilds a function when its sources change and
//! swaps the new binary in without dropping a request.

pub mod banner;
pub mod cli;
pub mod config;
pub mod event;
pub mod gateway_response;
pub mod guard;
pub mod integration;
pub mod lambda;
pub mod request_limits;
pub mod routing;
pub mod server;
pub mod settings;
pub mod sigv4;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validation;
pub mod watch;

use std::sync::Arc;

pub use server::{Gateway, GatewayHandle, GatewayOptions};
pub use settings::Settings;

/// The request guards a gateway runs by default, in API Gateway's order: authorization first, then
/// request validation.
///
/// SigV4 verification needs nothing but the settings (credentials, region, `--no-auth`), so it is
/// built here; request validation is compiled from the API definition when the gateway binds (see
/// [`Gateway::bind`]), and runs after it.
pub fn default_guards(settings: &Settings) -> Vec<Arc<dyn guard::RequestGuard>> {
    vec![Arc::new(sigv4::SigV4Guard::from_settings(settings))]
}
