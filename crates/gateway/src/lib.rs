//! A local API Gateway for REST APIs with response streaming, running the real Lambda function
//! binaries as child processes over the Lambda Runtime API. No Docker.
//!
//! The request path, in one direction, which is also the order in which the modules are declared
//! below: each one uses only modules declared after it, and the files of one module form no cycle
//! (`tests/module_layers.rs` checks both).
//!
//! 1. [`server`] accepts `http://HOST:PORT/{stage}/...` within API Gateway's size quotas
//!    ([`request_limits`]), matches the route in the API model ([`config`], read from the SAM
//!    template and its OpenAPI file at start and on each `--watch` reload, with [`template`]
//!    evaluating the intrinsic functions) and parses the request once into a
//!    [`request::RoutedRequest`];
//! 2. the request [`guard`]s run: SigV4 authorization ([`sigv4`]), then request validation
//!    ([`validation`]);
//! 3. [`event`] builds the REST (payload format 1.0) proxy event;
//! 4. [`lambda`] hands it to a warm or new instance of the function through its Runtime API;
//! 5. [`integration`] turns the function's answer (buffered JSON or a prelude + body stream) into
//!    the HTTP response; every response the gateway gives itself is rendered by [`response`].
//!
//! Beside the request path, [`watch`] (`--watch`) reloads the API model when the template or its
//! OpenAPI file changes and rebuilds a function when its sources change, swapping either in
//! without dropping a request; [`cli`] and [`banner`] are the command line and what it prints at
//! start.

// Each declaration has a comment above it so that rustfmt keeps this order.

// The end-to-end test harness (the `testing` feature).
#[cfg(feature = "testing")]
pub mod testing;
// The command line.
pub mod cli;
// What the gateway prints at start.
pub mod banner;
// `--watch`: reload the API model, rebuild and reload functions.
pub mod watch;
// The listener: one request from accept to response.
pub mod server;
// API Gateway's URL and header size quotas.
pub mod request_limits;
// SigV4, then request validation, before the function runs.
pub mod guard;
// The REST (v1) proxy event.
pub mod event;
// The function's answer turned into the client's response.
pub mod integration;
// Function instances and the Lambda Runtime API.
pub mod lambda;
// The API model: routes, functions, integrations, authorization, validators, gateway responses.
pub mod config;
// The gateway's own responses, rendered through the API's templates.
pub mod response;
// SigV4 verification.
pub mod sigv4;
// Request validation against the API definition.
pub mod validation;
// The routed request every stage reads.
pub mod request;
// The gateway's settings.
pub mod settings;
// The credentials the gateway accepts.
pub mod credentials;
// CloudFormation template reading and intrinsic functions.
pub mod template;

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
