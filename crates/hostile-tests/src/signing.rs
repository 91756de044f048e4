//! SigV4 signing with every input exposed, so a test can sign correctly and then break exactly one
//! thing: the keys, the clock, the credential scope, or the request after it was signed.
//!
//! The signer is `aws-sigv4`, the one the AWS SDK for Rust uses, so a request that passes here is
//! one a real client would send.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use rill_gateway::settings::{LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY};

/// Everything a SigV4 signature depends on besides the request.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Access key id (the `Credential=` prefix).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Region of the credential scope.
    pub region: String,
    /// Service of the credential scope.
    pub service: String,
    /// The signing time (`X-Amz-Date`).
    pub time: SystemTime,
}

impl Default for Signer {
    /// The documented local credentials, `us-east-1`, `execute-api`, now.
    fn default() -> Self {
        Self {
            access_key_id: LOCAL_ACCESS_KEY_ID.to_owned(),
            secret_access_key: LOCAL_SECRET_ACCESS_KEY.to_owned(),
            region: "us-east-1".to_owned(),
            service: "execute-api".to_owned(),
            time: SystemTime::now(),
        }
    }
}

impl Signer {
    /// The same signer with the clock moved by `offset` seconds (negative: the past).
    pub fn shifted(mut self, offset_seconds: i64) -> Self {
        let offset = Duration::from_secs(offset_seconds.unsigned_abs());
        self.time = if offset_seconds < 0 {
            self.time - offset
        } else {
            self.time + offset
        };
        self
    }

    /// The headers that sign `method url` with these `headers` (which must include `host`) and
    /// `body`: `authorization` and `x-amz-date`, lowercase.
    pub fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Vec<(String, String)> {
        let identity = Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            None,
            None,
            "rill-hostile-tests",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.time)
            .settings(SigningSettings::default())
            .build()
            .expect("complete signing parameters")
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("a signable request");
        let (instructions, _signature) = sign(signable, &params)
            .expect("signing succeeds")
            .into_parts();
        instructions
            .headers()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect()
    }
}
