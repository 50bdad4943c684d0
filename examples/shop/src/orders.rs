//! The orders already completed, so a client retrying a checkout (after a timeout,
//! say) gets the first answer again and nothing is recorded twice.
//!
//! Bounded by count: past the capacity, the oldest completed orders are forgotten
//! (a retry that late counts again). Order ids are at most
//! [`MAX_ORDER_ID_LEN`](crate::api::MAX_ORDER_ID_LEN) bytes, so the ledger holds at
//! most `capacity * (64 + overhead)` bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Default number of completed orders remembered.
pub const DEFAULT_REMEMBERED_ORDERS: usize = 100_000;

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// A request for it is being processed.
    InProgress,
    /// Completed; the answer is `{"success": true, "order_id": ...}`.
    Completed,
}

/// What the ledger says about a checkout request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// New: the caller processes it, then calls [`OrderLedger::complete`] or
    /// [`OrderLedger::abandon`].
    New,
    /// Already completed: answer as the first time and record nothing.
    AlreadyCompleted,
    /// Another request for the same order is being processed right now.
    InProgress,
}

#[derive(Debug, Default)]
struct Ledger {
    stages: HashMap<String, Stage>,
    /// Completed orders, oldest first, for eviction.
    completed: VecDeque<String>,
}

/// Completed orders by id.
#[derive(Debug)]
pub struct OrderLedger {
    capacity: usize,
    ledger: Mutex<Ledger>,
}

impl OrderLedger {
    /// A ledger remembering at most `capacity` completed orders (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims `order_id` for processing.
    pub fn claim(&self, order_id: &str) -> Claim {
        let mut ledger = self.lock();
        match ledger.stages.get(order_id) {
            Some(Stage::Completed) => Claim::AlreadyCompleted,
            Some(Stage::InProgress) => Claim::InProgress,
            None => {
                ledger.stages.insert(order_id.to_owned(), Stage::InProgress);
                Claim::New
            }
        }
    }

    /// Marks a claimed order completed.
    pub fn complete(&self, order_id: &str) {
        let mut ledger = self.lock();
        if let Some(stage) = ledger.stages.get_mut(order_id) {
            *stage = Stage::Completed;
            ledger.completed.push_back(order_id.to_owned());
        }
        while ledger.completed.len() > self.capacity {
            if let Some(oldest) = ledger.completed.pop_front() {
                ledger.stages.remove(&oldest);
            }
        }
    }

    /// Releases a claimed order that did not complete (a declined payment): a retry
    /// is processed anew.
    pub fn abandon(&self, order_id: &str) {
        let mut ledger = self.lock();
        if ledger.stages.get(order_id) == Some(&Stage::InProgress) {
            ledger.stages.remove(order_id);
        }
    }

    /// How many completed orders are remembered.
    pub fn remembered(&self) -> usize {
        self.lock().completed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_order_is_claimed_once_and_abandoned_ones_can_retry() {
        let l = OrderLedger::new(2);
        assert_eq!(l.claim("a"), Claim::New);
        assert_eq!(l.claim("a"), Claim::InProgress);
        l.complete("a");
        assert_eq!(l.claim("a"), Claim::AlreadyCompleted);
        assert_eq!(l.claim("b"), Claim::New);
        l.abandon("b");
        assert_eq!(l.claim("b"), Claim::New);
        l.complete("b");
        assert_eq!(l.claim("c"), Claim::New);
        l.complete("c");
        // Capacity 2: the oldest completed order ("a") is forgotten.
        assert_eq!(l.remembered(), 2);
        assert_eq!(l.claim("a"), Claim::New);
        assert_eq!(l.claim("c"), Claim::AlreadyCompleted);
    }
}
