//! SigV4 as a request guard: verifies the signature of every route the API model marks
//! [`Authorization::Iam`] (read from the operation's own security requirement when the API was
//! loaded, see `config`), and records the caller for `requestContext.identity`.
//!
//! With `--no-auth` the guard still runs but no longer refuses anything: a request whose signature
//! verifies reaches the function with its identity (so code that reads `accessKey` behaves as it
//! will in AWS), and every other request reaches it as an anonymous caller, with the identity
//! fields API Gateway leaves empty for an unauthenticated request.

use std::time::SystemTime;

use super::request_guard::RequestGuard;
use crate::config::{Authorization, Route};
use crate::request::{CallerIdentity, RoutedRequest};
use crate::response::GatewayResponse;
use crate::settings::Settings;
use crate::sigv4::{LocalIdentity, SigV4Verifier};

/// The SigV4 (`AWS_IAM`) authorization guard.
#[derive(Debug, Clone)]
pub struct SigV4Guard {
    verifier: SigV4Verifier,
    enforced: bool,
}

impl SigV4Guard {
    /// A guard that verifies with `verifier` and refuses what does not verify.
    pub fn new(verifier: SigV4Verifier) -> Self {
        Self {
            verifier,
            enforced: true,
        }
    }

    /// A guard accepting the documented local credentials ([`SigV4Verifier::local_default`]).
    pub fn local_default() -> Self {
        Self::new(SigV4Verifier::local_default())
    }

    /// The guard the settings ask for: their credentials in their region, refusing bad or missing
    /// signatures unless `no_auth` is set.
    pub fn from_settings(settings: &Settings) -> Self {
        let verifier = SigV4Verifier::new(
            settings.region.clone(),
            settings.credentials.clone(),
            LocalIdentity::default(),
        );
        if settings.no_auth {
            Self::unenforced(verifier)
        } else {
            Self::new(verifier)
        }
    }

    /// A guard that lets every request in (`--no-auth`), recording the identity of those whose
    /// signature `verifier` accepts.
    pub fn unenforced(verifier: SigV4Verifier) -> Self {
        Self {
            verifier,
            enforced: false,
        }
    }

    /// Whether requests that fail verification are refused.
    pub fn is_enforced(&self) -> bool {
        self.enforced
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &SigV4Verifier {
        &self.verifier
    }
}

impl RequestGuard for SigV4Guard {
    fn name(&self) -> &'static str {
        if self.enforced {
            "SigV4 (IAM)"
        } else {
            "SigV4 NOT verified (--no-auth)"
        }
    }

    fn check(
        &self,
        route: &Route,
        request: &RoutedRequest,
        identity: &mut CallerIdentity,
    ) -> Result<(), GatewayResponse> {
        if route.authorization != Authorization::Iam {
            return Ok(());
        }
        match self.verifier.verify(request, SystemTime::now()) {
            Ok(caller) => {
                identity.access_key = Some(caller.access_key);
                identity.account_id = Some(caller.account_id);
                identity.caller = Some(caller.caller);
                identity.user = Some(caller.user);
                identity.user_arn = Some(caller.user_arn);
                Ok(())
            }
            Err(error) if !self.enforced => {
                tracing::debug!(
                    failure = ?error.kind(),
                    "SigV4 did not verify; let in anyway (--no-auth)"
                );
                Ok(())
            }
            Err(error) => {
                tracing::debug!(
                    failure = ?error.kind(),
                    error_type = error.error_type(),
                    "SigV4 verification refused the request"
                );
                Err(GatewayResponse::from(&error))
            }
        }
    }
}
