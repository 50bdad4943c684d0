//! Retries of transient export failures, with exponential backoff, within the
//! export's deadline.

use std::time::{Duration, Instant};

use rand::Rng;

/// Attempts per export, the first included.
pub(crate) const MAX_ATTEMPTS: u32 = 5;
/// The wait before the first retry; doubled for each further one.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// No wait between attempts is longer than this (a server's `Retry-After` included).
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one attempt came to.
#[derive(Debug)]
pub(crate) enum Attempt {
    Done,
    /// Failed; worth retrying (after `retry_after` if the server said so).
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Failed; retrying cannot help.
    Permanent(String),
}

/// The deadline of one export and the backoff between its attempts.
#[derive(Debug)]
pub(crate) struct Schedule {
    deadline: Option<Instant>,
    attempts: u32,
}

impl Schedule {
    pub(crate) fn new(export_timeout: Option<Duration>) -> Self {
        Self {
            deadline: export_timeout.and_then(|t| Instant::now().checked_add(t)),
            attempts: 0,
        }
    }

    /// The timeout of the next attempt: what is left of the export's deadline
    /// (`None`: no limit). `Err` when the deadline has passed.
    pub(crate) fn attempt_timeout(&mut self) -> Result<Option<Duration>, ()> {
        self.attempts += 1;
        match self.deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(()),
            },
            None => Ok(None),
        }
    }

    /// Attempts made so far.
    pub(crate) const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long to wait before retrying, or `None` if no retry fits (attempts
    /// used up, or the wait would pass the deadline).
    pub(crate) fn backoff(&self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempts >= MAX_ATTEMPTS {
            return None;
        }
        let exp = INITIAL_BACKOFF.saturating_mul(1 << self.attempts.saturating_sub(1).min(8));
        // Full jitter on the upper half: between 50% and 100% of the step.
        let jittered = exp.mul_f64(rand::rng().random_range(0.5..=1.0));
        let wait = retry_after.unwrap_or(jittered).min(MAX_BACKOFF);
        match self.deadline {
            Some(d) if Instant::now() + wait >= d => None,
            _ => Some(wait),
        }
    }
}

/// The message of an export that gave up.
pub(crate) fn gave_up(attempts: u32, error: &str) -> String {
    if attempts > 1 {
        format!("{error} (after {attempts} attempts)")
    } else {
        error.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_capped_and_waits_grow() {
        let mut s = Schedule::new(None);
        let mut waits = Vec::new();
        while s.attempt_timeout().is_ok() {
            match s.backoff(None) {
                Some(w) => waits.push(w),
                None => break,
            }
        }
        assert_eq!(s.attempts(), MAX_ATTEMPTS);
        assert_eq!(waits.len(), (MAX_ATTEMPTS - 1) as usize);
        for (i, w) in waits.iter().enumerate() {
            let step = INITIAL_BACKOFF * (1 << i);
            assert!(*w >= step / 2 && *w <= step, "wait {i} = {w:?}");
        }
    }

    #[test]
    fn the_deadline_cuts_the_attempt_and_refuses_a_wait_past_it() {
        let mut s = Schedule::new(Some(Duration::from_millis(300)));
        let t = s.attempt_timeout().unwrap();
        assert!(t.unwrap() <= Duration::from_millis(300));
        assert_eq!(s.backoff(Some(Duration::from_secs(1))), None);
        let mut unbounded = Schedule::new(None);
        assert_eq!(unbounded.attempt_timeout().unwrap(), None);
        assert_eq!(
            unbounded.backoff(Some(Duration::from_secs(60))),
            Some(MAX_BACKOFF)
        );
    }
}
