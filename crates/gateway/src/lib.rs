//! A local API Gateway for REST APIs with response streaming, running the real Lambda function
//! binaries as child processes over the Lambda Runtime API. No Docker.
//!
//! The request path, in one direction, which is also the order of the modules below: each one
//! uses only modules listed after it (`scripts/check-gateway-layers` checks this).
//!
//! 1. [`server`] accepts `http://HOST:PORT/{stage}/...` within API Gateway's size quotas
//!    ([`request_limits`]), matches the route in the API model ([`config`], read once at start
//!    from the SAM template and its OpenAPI file, with [`template`] evaluating the intrinsic
//!    functions) and parses the request once into a [`request::RoutedRequest`];
//! 2. the request [`guard`]s run: SigV4 authorization ([`sigv4`]), then request validation
//!    ([`validation`]);
//! 3. [`event`] builds the REST (payload format 1.0) proxy event;
//! 4. [`lambda`] hands it to a warm or new instance of the function through its Runtime API;
//! 5. [`integration`] turns the function's answer (buffered JSON or a prelude + body stream) into
//!    the HTTP response; every response the gateway gives itself goes through [`response`].
//!
//! Beside the request path, [`watch`] (`--watch`) rebuilds a function when its sources change and
//! swaps the new binary in without dropping a request; [`cli`] and [`banner`] are the command
//! line and what it prints at start.

#[cfg(feature = "testing")]
pub mod testing;

pub mod banner;
pub mod cli;
pub mod config;
pub mod event;
pub mod guard;
pub mod integration;
pub mod lambda;
pub mod request;
pub mod request_limits;
pub mod response;
pub mod server;
pub mod settings;
pub mod sigv4;
pub mod template;
pub mod validation;
pub mod watch;

use std::sync::Arc;

pub use server::{Gateway, GatewayHandle, GatewayOptions};
pub use settings::Settings;

/// The request guards a gateway runs by default, in API Gateway's order: authorization first, then
/// request validation.
///
/// SigV4 verification needs nothing but the settings (credentials, region, `--no-auth`), so it is
/// built here; [`Gateway::bind`] adds request validation after it, which runs each route's
/// validator, compiled when the API model was loaded.
pub fn default_guards(settings: &Settings) -> Vec<Arc<dyn guard::RequestGuard>> {
    vec![Arc::new(guard::SigV4Guard::from_settings(settings))]
}
