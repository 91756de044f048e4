//! Matching a request's or response's media type against the API's `binaryMediaTypes`, which
//! decides whether a body crosses the proxy integration as base64.

/// Whether `media_type` (a `Content-Type` or one `Accept` entry) matches one of the API's
/// `binaryMediaTypes` (`image/png`, `image/*`, `*/*`). Parameters and case are ignored.
pub fn media_type_matches(binary_media_types: &[String], media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    binary_media_types.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        match pattern.split_once('/') {
            Some(("*", "*")) => true,
            Some((k, "*")) => k == kind,
            Some((k, s)) => k == kind && s == subtype,
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_media_types_match_with_wildcards_and_parameters() {
        let types = vec!["image/*".to_owned(), "application/octet-stream".to_owned()];
        assert!(media_type_matches(&types, "image/png"));
        assert!(media_type_matches(
            &types,
            "Application/Octet-Stream; charset=x"
        ));
        assert!(!media_type_matches(&types, "application/json"));
        assert!(media_type_matches(&["*/*".to_owned()], "text/plain"));
        assert!(!media_type_matches(&[], "image/png"));
    }
}
