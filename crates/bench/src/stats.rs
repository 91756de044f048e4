//! Summaries of repeated measurements: the median with its min–max, and exact percentiles of
//! latency samples.
//!
//! The machine is shared and noisy, so every figure is reported as the median of several runs with
//! the spread beside it, and compared with a floor or a peer measured in the same run. Latency
//! samples are kept in full (every load run is bounded in count) and sorted, so percentiles are
//! exact rather than read off histogram buckets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The median of a set of runs and its range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many runs.
    pub runs: usize,
}

impl Summary {
    /// The summary of `values`; `None` when there are none (or any is not a number).
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            runs: n,
        })
    }

    /// `median (min–max)` with `decimals` digits after the point.
    pub fn show(&self, decimals: usize) -> String {
        if self.runs == 1 {
            return format!("{:.decimals$}", self.median);
        }
        format!(
            "{:.decimals$} ({:.decimals$}–{:.decimals$})",
            self.median, self.min, self.max
        )
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.show(2))
    }
}

/// `Summary::of` that renders a missing summary as a dash.
pub fn show(summary: Option<Summary>, decimals: usize) -> String {
    summary.map_or_else(|| "–".to_owned(), |s| s.show(decimals))
}

/// Latency samples of one load run, sorted, in nanoseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<u64>,
}

impl Latencies {
    /// Sorts `samples` once.
    pub fn new(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        Self { sorted: samples }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The `q` quantile (0.0–1.0) by the nearest-rank method, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * self.sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.sorted.len()) - 1;
        Some(self.sorted[index] as f64 / 1e6)
    }
}

/// Milliseconds in a duration, as a float.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value_and_the_range_is_kept() {
        let summary = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!(summary.median, 3.0);
        assert_eq!((summary.min, summary.max, summary.runs), (1.0, 5.0, 3));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
    }

    #[test]
    fn no_values_or_a_nan_give_no_summary() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn a_summary_shows_its_range_unless_there_was_one_run() {
        assert_eq!(
            Summary::of(&[1.0, 2.0, 4.0]).unwrap().show(1),
            "2.0 (1.0–4.0)"
        );
        assert_eq!(Summary::of(&[1.5]).unwrap().show(1), "1.5");
        assert_eq!(show(None, 1), "–");
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        // 1..=100 ms.
        let latencies = Latencies::new((1..=100).rev().map(|ms| ms * 1_000_000).collect());
        assert_eq!(latencies.quantile_ms(0.5), Some(50.0));
        assert_eq!(latencies.quantile_ms(0.99), Some(99.0));
        assert_eq!(latencies.quantile_ms(1.0), Some(100.0));
        assert_eq!(latencies.quantile_ms(0.0), Some(1.0));
        assert_eq!(Latencies::new(vec![]).quantile_ms(0.5), None);
    }
}
