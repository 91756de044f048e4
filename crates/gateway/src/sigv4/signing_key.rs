//! The SigV4 signing keys already derived, so that a warm request costs one HMAC instead of five.
//!
//! A signing key is `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`:
//! it depends only on the secret, the scope date, the Region and the service, so it changes once a day
//! per access key ("the signing key ... is valid for seven days ... you can cache it",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>).
//! Every request still gets its canonical request, string-to-sign and signature computed from
//! scratch; only the four derivation steps are remembered, keyed by all four inputs, so a cached key
//! can never stand in for another.

use std::sync::Mutex;
use std::time::SystemTime;

/// Keys remembered at most. A gateway sees one or two scope dates per access key (a request signed
/// just before midnight UTC arrives just after it); the bound only keeps a client that cycles
/// through dates from growing the cache.
const CAPACITY: usize = 8;

/// Derived signing keys, by secret, scope date, Region and service.
#[derive(Default)]
pub(crate) struct SigningKeys {
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    secret: String,
    date: String,
    region: String,
    service: String,
    key: Vec<u8>,
}

impl SigningKeys {
    /// The signing key for `secret` on the scope date `date` (`YYYYMMDD`, the date of `time`),
    /// derived on first use and remembered.
    pub(crate) fn key(
        &self,
        secret: &str,
        date: &str,
        time: SystemTime,
        region: &str,
        service: &str,
    ) -> Vec<u8> {
        let mut entries = self.entries.lock().expect("signing key cache lock");
        if let Some(entry) = entries.iter().find(|e| {
            e.date == date && e.secret == secret && e.region == region && e.service == service
        }) {
            return entry.key.clone();
        }
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, region, service)
            .as_ref()
            .to_vec();
        if entries.len() >= CAPACITY {
            entries.remove(0);
        }
        entries.push(Entry {
            secret: secret.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            key: key.clone(),
        });
        key
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().expect("signing key cache lock").len()
    }
}

impl Clone for SigningKeys {
    /// A clone starts empty: keys are cheap to derive again, and a copy of the verifier may be given
    /// other principals.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for SigningKeys {
    /// Never prints a key or a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field(
                "cached",
                &self.entries.lock().map(|e| e.len()).unwrap_or_default(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    // 2015-08-30T12:36:00Z and a day later, the date of AWS's SigV4 test suite.
    fn day(offset_days: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160 + offset_days * 86_400)
    }

    fn derived(time: SystemTime, region: &str, service: &str) -> Vec<u8> {
        aws_sigv4::sign::v4::generate_signing_key(SECRET, time, region, service)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn a_remembered_key_is_the_key_derived_for_the_same_inputs() {
        // Given a cache that has derived the key once
        let keys = SigningKeys::default();
        let first = keys.key(SECRET, "20150830", day(0), "us-east-1", "service");
        // When the same inputs ask again
        let second = keys.key(SECRET, "20150830", day(0), "us-east-1", "service");
        // Then both are the key AWS's derivation gives, and it was derived once
        assert_eq!(first, derived(day(0), "us-east-1", "service"));
        assert_eq!(second, first);
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn another_date_region_service_or_secret_gets_its_own_key() {
        let keys = SigningKeys::default();
        let base = keys.key(SECRET, "20150830", day(0), "us-east-1", "service");
        let next_day = keys.key(SECRET, "20150831", day(1), "us-east-1", "service");
        let region = keys.key(SECRET, "20150830", day(0), "eu-west-1", "service");
        let service = keys.key(SECRET, "20150830", day(0), "us-east-1", "execute-api");
        let secret = keys.key("other", "20150830", day(0), "us-east-1", "service");
        assert_eq!(next_day, derived(day(1), "us-east-1", "service"));
        assert_eq!(region, derived(day(0), "eu-west-1", "service"));
        assert_eq!(service, derived(day(0), "us-east-1", "execute-api"));
        for other in [&next_day, &region, &service, &secret] {
            assert_ne!(other, &base);
        }
    }

    #[test]
    fn the_cache_stays_bounded() {
        let keys = SigningKeys::default();
        for offset in 0..(CAPACITY as u64 * 3) {
            let time = day(offset);
            let date = time::OffsetDateTime::from(time)
                .format(time::macros::format_description!("[year][month][day]"))
                .unwrap();
            assert_eq!(
                keys.key(SECRET, &date, time, "us-east-1", "service"),
                derived(time, "us-east-1", "service")
            );
        }
        assert_eq!(keys.len(), CAPACITY);
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let keys = SigningKeys::default();
        keys.key(SECRET, "20150830", day(0), "us-east-1", "service");
        let text = format!("{keys:?}");
        assert!(
            !text.contains(SECRET) && text.contains("cached: 1"),
            "{text}"
        );
    }
}
