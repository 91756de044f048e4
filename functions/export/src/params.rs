//! The query parameters of the two export routes, checked completely before the first byte is sent.
//!
//! Once a stream has started its status cannot change, so everything that can be wrong with a request
//! is found here and answered with a normal 400 problem listing every broken rule. That includes
//! parameters the route does not have: a misspelt filter (`stauts=paid`) would otherwise export
//! everything, which for an export is the worst possible answer. A parameter given twice is also a 400,
//! since the export cannot tell which value was meant.

use rill_core::{DomainError, FieldError, OrderFilter, OrderStatus, Timestamp, UserId};

use crate::format::Format;

/// The parameters of `GET /exports/orders`.
pub const ORDERS_PARAMS: &[&str] = &["format", "status", "userId", "from", "to", "cursor"];
/// The parameters of `GET /exports/users`.
pub const USERS_PARAMS: &[&str] = &["format", "cursor"];

/// A checked export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQuery {
    /// The `format` parameter, when given; `Accept` decides otherwise.
    pub format: Option<Format>,
    /// The `cursor` of a continued export, still sealed.
    pub cursor: Option<String>,
    /// Which orders (the users export has no filter).
    pub filter: OrderFilter,
}

/// Query parameters as `(name, value)` pairs, repeated names included.
pub type QueryPairs<'a> = [(&'a str, &'a str)];

/// Checks the parameters of the orders export.
pub fn orders_query(pairs: &QueryPairs<'_>) -> Result<ExportQuery, DomainError> {
    let mut check = Checker::new(pairs, ORDERS_PARAMS);
    let format = check.parse("format", Format::parse);
    let cursor = check.parse("cursor", |text| Ok(text.to_owned()));
    let status = check.parse("status", |text| OrderStatus::parse("status", text));
    let user_id = check.parse("userId", |text| UserId::parse("userId", text));
    let from = check.parse("from", |text| Timestamp::parse_rfc3339("from", text));
    let to = check.parse("to", |text| Timestamp::parse_rfc3339("to", text));
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        check
            .errors
            .push(FieldError::new("to", "must be later than from"));
    }
    check.finish(ExportQuery {
        format,
        cursor,
        filter: OrderFilter {
            user_id,
            status,
            created_from: from,
            created_to: to,
        },
    })
}

/// Checks the parameters of the users export.
pub fn users_query(pairs: &QueryPairs<'_>) -> Result<ExportQuery, DomainError> {
    let mut check = Checker::new(pairs, USERS_PARAMS);
    let format = check.parse("format", Format::parse);
    let cursor = check.parse("cursor", |text| Ok(text.to_owned()));
    check.finish(ExportQuery {
        format,
        cursor,
        filter: OrderFilter::default(),
    })
}

/// Collects every broken rule instead of stopping at the first.
struct Checker<'a, 'p> {
    pairs: &'p QueryPairs<'a>,
    errors: Vec<FieldError>,
}

impl<'a, 'p> Checker<'a, 'p> {
    fn new(pairs: &'p QueryPairs<'a>, known: &[&str]) -> Self {
        let mut errors = Vec::new();
        let mut unknown: Vec<&str> = pairs
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !known.contains(name))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for name in unknown {
            errors.push(FieldError::new(
                name,
                format!(
                    "is not a parameter of this export; it takes {}",
                    known.join(", ")
                ),
            ));
        }
        Self { pairs, errors }
    }

    /// The parsed value of a parameter given at most once.
    fn parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Option<T> {
        let mut values = self.pairs.iter().filter(|(n, _)| *n == name);
        let (_, value) = values.next()?;
        if values.next().is_some() {
            self.errors
                .push(FieldError::new(name, "must be given at most once"));
            return None;
        }
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(DomainError::Validation(errors)) => {
                self.errors.extend(errors);
                None
            }
            Err(other) => {
                self.errors.push(FieldError::new(name, other.to_string()));
                None
            }
        }
    }

    fn finish(self, query: ExportQuery) -> Result<ExportQuery, DomainError> {
        if self.errors.is_empty() {
            Ok(query)
        } else {
            Err(DomainError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<ExportQuery, DomainError>) -> Vec<String> {
        match result {
            Err(DomainError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn no_parameters_export_every_order_in_the_negotiated_format() {
        let query = orders_query(&[]).unwrap();
        assert_eq!(query.format, None);
        assert_eq!(query.filter, OrderFilter::default());
    }

    #[test]
    fn every_filter_is_parsed_into_the_order_filter() {
        let user = UserId::generate().to_string();
        let query = orders_query(&[
            ("format", "ndjson"),
            ("status", "paid"),
            ("userId", &user),
            ("from", "2026-11-01T00:00:00Z"),
            ("to", "2026-12-01T00:00:00+01:00"),
        ])
        .unwrap();
        assert_eq!(query.format, Some(Format::Ndjson));
        assert_eq!(query.filter.status, Some(OrderStatus::Paid));
        assert_eq!(query.filter.user_id.unwrap().to_string(), user);
        assert_eq!(
            query.filter.created_from.unwrap().to_rfc3339(),
            "2026-11-01T00:00:00.000Z"
        );
        assert_eq!(
            query.filter.created_to.unwrap().to_rfc3339(),
            "2026-11-30T23:00:00.000Z"
        );
    }

    #[test]
    fn every_bad_parameter_is_reported_at_once() {
        let result = orders_query(&[
            ("format", "xlsx"),
            ("status", "lost"),
            ("userId", "42"),
            ("from", "yesterday"),
            ("to", "2026-13-01T00:00:00Z"),
        ]);
        assert_eq!(
            fields(result),
            vec!["format", "status", "userId", "from", "to"]
        );
    }

    #[test]
    fn a_window_that_does_not_move_forward_is_rejected_on_to() {
        for (from, to) in [
            ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"),
            ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        ] {
            assert_eq!(
                fields(orders_query(&[("from", from), ("to", to)])),
                vec!["to"]
            );
        }
    }

    #[test]
    fn an_unknown_or_repeated_parameter_is_a_validation_error_naming_it() {
        assert_eq!(fields(orders_query(&[("stauts", "paid")])), vec!["stauts"]);
        assert_eq!(
            fields(orders_query(&[("status", "paid"), ("status", "shipped")])),
            vec!["status"]
        );
        assert_eq!(fields(users_query(&[("status", "paid")])), vec!["status"]);
    }
}
