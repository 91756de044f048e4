//! One line per check as it finishes, and a summary: what an operator reads after a deploy.

use std::fmt::Display;

/// The outcomes so far.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    /// Prints `ok` or `FAIL` with the check's name and detail, and keeps the count. Returns the
    /// check's value, if it passed, for the checks that build on it.
    pub fn record<T, E: Display>(
        &mut self,
        name: &str,
        outcome: Result<(T, String), E>,
    ) -> Option<T> {
        match outcome {
            Ok((value, detail)) => {
                self.passed += 1;
                println!("ok    {name}: {detail}");
                Some(value)
            }
            Err(problem) => {
                println!("FAIL  {name}: {problem:#}");
                self.failed.push(name.to_owned());
                None
            }
        }
    }

    /// A check that could not run because one it needs failed: a failure too.
    pub fn skip(&mut self, name: &str, because: &str) {
        println!("FAIL  {name}: not run, {because}");
        self.failed.push(name.to_owned());
    }

    /// Checks left out on purpose (`--read-only`): said, and neither passed nor failed.
    pub fn not_run(&mut self, name: &str, because: &str) {
        println!("--    {name}: not run, {because}");
    }

    /// Prints the summary; true when every check passed.
    pub fn finish(&self) -> bool {
        if self.failed.is_empty() {
            println!("smoke: all {} checks passed", self.passed);
            true
        } else {
            println!(
                "smoke: {} of {} checks FAILED: {}",
                self.failed.len(),
                self.passed + self.failed.len(),
                self.failed.join("; ")
            );
            false
        }
    }
}
