//! Distinct active users per window and tier, from the user ids sessions carry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use business_metrics::{ActiveWindow, UserTier};

/// How far back each window looks.
pub fn window_length(window: ActiveWindow) -> Duration {
    const DAY: u64 = 24 * 3600;
    match window {
        ActiveWindow::Daily => Duration::from_secs(DAY),
        ActiveWindow::Weekly => Duration::from_secs(7 * DAY),
        _ => Duration::from_secs(30 * DAY),
    }
}

/// When each user was last seen, bounded in size.
#[derive(Debug)]
pub struct ActiveUsers {
    seen: Mutex<HashMap<String, (UserTier, Instant)>>,
    max_users: usize,
}

impl ActiveUsers {
    /// Tracks at most `max_users` users; past that, users unseen for a month are
    /// forgotten first, and new users are not counted while it stays full.
    pub fn new(max_users: usize) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            max_users,
        }
    }

    /// Notes that a user was active now.
    pub fn seen(&self, user_id: &str, tier: UserTier, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = seen.get_mut(user_id) {
            *entry = (tier, now);
            return;
        }
        if seen.len() >= self.max_users {
            let month = window_length(ActiveWindow::Monthly);
            seen.retain(|_, (_, at)| now.saturating_duration_since(*at) <= month);
            if seen.len() >= self.max_users {
                return;
            }
        }
        seen.insert(user_id.to_owned(), (tier, now));
    }

    /// Distinct users per tier seen within the window before `now`; every tier is
    /// listed, with 0 where none was seen.
    pub fn counts(&self, window: ActiveWindow, now: Instant) -> Vec<(UserTier, u64)> {
        let length = window_length(window);
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        UserTier::ALL
            .iter()
            .map(|tier| {
                let n = seen
                    .values()
                    .filter(|(t, at)| t == tier && now.saturating_duration_since(*at) <= length)
                    .count();
                (*tier, n as u64)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_counted_once_per_window_and_tier() {
        let users = ActiveUsers::new(10);
        let t0 = Instant::now();
        users.seen("a", UserTier::Pro, t0);
        users.seen("a", UserTier::Pro, t0);
        users.seen("b", UserTier::Free, t0);
        let later = t0 + Duration::from_secs(2 * 24 * 3600);
        users.seen("c", UserTier::Free, later);
        assert_eq!(
            users.counts(ActiveWindow::Daily, later),
            [
                (UserTier::Free, 1),
                (UserTier::Pro, 0),
                (UserTier::Enterprise, 0)
            ]
        );
        assert_eq!(
            users.counts(ActiveWindow::Weekly, later),
            [
                (UserTier::Free, 2),
                (UserTier::Pro, 1),
                (UserTier::Enterprise, 0)
            ]
        );
    }

    #[test]
    fn the_number_of_tracked_users_is_bounded() {
        let users = ActiveUsers::new(2);
        let t0 = Instant::now();
        for id in ["a", "b", "c", "d"] {
            users.seen(id, UserTier::Free, t0);
        }
        assert_eq!(
            users.counts(ActiveWindow::Monthly, t0)[0],
            (UserTier::Free, 2)
        );
        // A month later the old ones make room.
        let later = t0 + Duration::from_secs(31 * 24 * 3600);
        users.seen("e", UserTier::Free, later);
        assert_eq!(
            users.counts(ActiveWindow::Daily, later)[0],
            (UserTier::Free, 1)
        );
    }
}
