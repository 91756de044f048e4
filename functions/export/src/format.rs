//! Which format an export is written in: the `format` query parameter when given, otherwise what the
//! client's `Accept` header prefers, otherwise CSV.
//!
//! An explicit `format` wins over `Accept` because it is the one a person typed (a link, a `curl`
//! command); `Accept` is what a client library sends on its own. When `Accept` rules out both formats the
//! answer is 406, never a body in a format the client said it cannot take.

use std::fmt;

use rill_core::DomainError;

/// The two formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object per line, closed by a trailer record.
    Ndjson,
}

impl Format {
    /// The spelling of the `format` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }

    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Ndjson => "application/x-ndjson",
        }
    }

    /// The extension of the downloaded file.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    fn media_type(self) -> (&'static str, &'static str) {
        match self {
            Self::Csv => ("text", "csv"),
            Self::Ndjson => ("application", "x-ndjson"),
        }
    }

    /// Parses the `format` query parameter.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        match text {
            "csv" => Ok(Self::Csv),
            "ndjson" => Ok(Self::Ndjson),
            _ => Err(DomainError::invalid("format", "must be csv or ndjson")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Accept` header allows neither format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAcceptable;

/// The format to answer in, given an already parsed `format` parameter and the raw `Accept` header.
///
/// With several acceptable formats the one with the highest `q` wins, CSV on a tie. A range's `q` is that
/// of its most specific match (`text/csv` over `text/*` over `*/*`), as RFC 9110 §12.5.1 says; `q=0`
/// means "not this one". A missing or blank `Accept` accepts everything.
pub fn negotiate(explicit: Option<Format>, accept: Option<&str>) -> Result<Format, NotAcceptable> {
    if let Some(format) = explicit {
        return Ok(format);
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Format::Csv);
    };
    let ranges: Vec<MediaRange<'_>> = accept.split(',').filter_map(MediaRange::parse).collect();
    let q_csv = quality(&ranges, Format::Csv);
    let q_ndjson = quality(&ranges, Format::Ndjson);
    match (q_csv, q_ndjson) {
        (0, 0) => Err(NotAcceptable),
        (csv, ndjson) if ndjson > csv => Ok(Format::Ndjson),
        _ => Ok(Format::Csv),
    }
}

/// One entry of an `Accept` header; `q` in thousandths so comparisons are exact.
#[derive(Debug)]
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: u16,
}

impl<'a> MediaRange<'a> {
    /// Parses `type/subtype;param=value;q=0.5`. An entry that does not parse is skipped.
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut q = 1000;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = parse_qvalue(value.trim())?;
            }
        }
        Some(Self { kind, subtype, q })
    }

    /// 2 for an exact match, 1 for `type/*`, 0 for `*/*`; `None` when the range does not cover it.
    fn specificity(&self, (kind, subtype): (&str, &str)) -> Option<u8> {
        if self.kind == "*" {
            Some(0)
        } else if !self.kind.eq_ignore_ascii_case(kind) {
            None
        } else if self.subtype == "*" {
            Some(1)
        } else if self.subtype.eq_ignore_ascii_case(subtype) {
            Some(2)
        } else {
            None
        }
    }
}

/// RFC 9110 qvalue: `0`, `1`, `0.xyz`, `1.000`, in thousandths.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn quality(ranges: &[MediaRange<'_>], format: Format) -> u16 {
    ranges
        .iter()
        .filter_map(|r| r.specificity(format.media_type()).map(|s| (s, r.q)))
        .max_by_key(|(specificity, _)| *specificity)
        .map_or(0, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Result<Format, NotAcceptable> {
        negotiate(None, Some(accept))
    }

    #[test]
    fn without_format_or_accept_the_export_is_csv() {
        assert_eq!(negotiate(None, None), Ok(Format::Csv));
        assert_eq!(pick("  "), Ok(Format::Csv));
    }

    #[test]
    fn accept_selects_the_format_it_names() {
        assert_eq!(pick("text/csv"), Ok(Format::Csv));
        assert_eq!(pick("application/x-ndjson"), Ok(Format::Ndjson));
        assert_eq!(
            pick("Application/X-NDJSON; charset=utf-8"),
            Ok(Format::Ndjson)
        );
        assert_eq!(pick("application/*"), Ok(Format::Ndjson));
        assert_eq!(pick("text/*"), Ok(Format::Csv));
    }

    #[test]
    fn a_wildcard_or_a_browser_accept_gets_csv() {
        assert_eq!(pick("*/*"), Ok(Format::Csv));
        assert_eq!(
            pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Ok(Format::Csv)
        );
    }

    #[test]
    fn the_higher_quality_wins_and_the_most_specific_range_sets_it() {
        assert_eq!(
            pick("text/csv;q=0.4, application/x-ndjson;q=0.9"),
            Ok(Format::Ndjson)
        );
        assert_eq!(pick("*/*, text/csv;q=0"), Ok(Format::Ndjson));
        assert_eq!(pick("text/csv;q=0.5, */*;q=0.5"), Ok(Format::Csv));
    }

    #[test]
    fn an_accept_that_allows_neither_format_is_not_acceptable() {
        for accept in [
            "application/json",
            "text/html, application/xml",
            "text/csv;q=0, application/x-ndjson;q=0",
            "*/*;q=0",
            "nonsense",
            "text/csv;q=2",
        ] {
            assert_eq!(pick(accept), Err(NotAcceptable), "{accept}");
        }
    }

    #[test]
    fn an_explicit_format_wins_over_accept() {
        assert_eq!(
            negotiate(Some(Format::Ndjson), Some("text/csv")),
            Ok(Format::Ndjson)
        );
        assert_eq!(
            negotiate(Some(Format::Csv), Some("application/json")),
            Ok(Format::Csv)
        );
    }

    #[test]
    fn only_csv_and_ndjson_are_formats() {
        assert_eq!(Format::parse("csv").unwrap(), Format::Csv);
        assert_eq!(Format::parse("ndjson").unwrap(), Format::Ndjson);
        for text in ["", "CSV", "json", "xlsx"] {
            assert!(Format::parse(text).is_err(), "{text}");
        }
    }
}
