//! A bounded store of open visits or trials by random id, with idle expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::error::{AppError, Resource};

struct Entry<T> {
    value: Arc<T>,
    last_seen: Instant,
}

/// At most `capacity` values of one [`Resource`], each under a random 128-bit id.
pub struct Store<T> {
    resource: Resource,
    capacity: usize,
    entries: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource", &self.resource)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

/// A random 128-bit id in hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<T> Store<T> {
    /// An empty store of `resource` holding at most `capacity` values.
    pub fn new(resource: Resource, capacity: usize) -> Self {
        Self {
            resource,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a value under a new id.
    ///
    /// # Errors
    /// [`AppError::TooMany`] when the store is full.
    pub fn insert(&self, value: T) -> Result<String, AppError> {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            return Err(AppError::TooMany(self.resource));
        }
        let id = new_id();
        entries.insert(
            id.clone(),
            Entry {
                value: Arc::new(value),
                last_seen: Instant::now(),
            },
        );
        Ok(id)
    }

    /// The value with this id, now marked as seen.
    ///
    /// # Errors
    /// [`AppError::Unknown`] when no value has this id.
    pub fn get(&self, id: &str) -> Result<Arc<T>, AppError> {
        let mut entries = self.lock();
        let entry = entries
            .get_mut(id)
            .ok_or(AppError::Unknown(self.resource))?;
        entry.last_seen = Instant::now();
        Ok(Arc::clone(&entry.value))
    }

    /// Removes the value with this id and returns it.
    ///
    /// # Errors
    /// [`AppError::Unknown`] when no value has this id.
    pub fn remove(&self, id: &str) -> Result<Arc<T>, AppError> {
        self.lock()
            .remove(id)
            .map(|e| e.value)
            .ok_or(AppError::Unknown(self.resource))
    }

    /// Puts back a value [`remove`](Self::remove) took, under its id, when what it
    /// was taken for did not happen (the store may exceed its capacity by the
    /// values taken meanwhile).
    pub fn restore(&self, id: &str, value: Arc<T>) {
        self.lock().insert(
            id.to_owned(),
            Entry {
                value,
                last_seen: Instant::now(),
            },
        );
    }

    /// Removes the values not seen for `idle`, and those `expired` says are over.
    /// Returns how many went.
    pub fn expire(&self, idle: Duration, expired: impl Fn(&T) -> bool) -> usize {
        let now = Instant::now();
        let mut entries = self.lock();
        let before = entries.len();
        entries
            .retain(|_, e| now.saturating_duration_since(e.last_seen) < idle && !expired(&e.value));
        before - entries.len()
    }

    /// The number of values held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_refuses_values_past_its_capacity() {
        let store = Store::new(Resource::Visit, 2);
        let a = store.insert(1).unwrap();
        store.insert(2).unwrap();
        assert!(matches!(
            store.insert(3),
            Err(AppError::TooMany(Resource::Visit))
        ));
        assert_eq!(*store.remove(&a).unwrap(), 1);
        assert!(store.insert(4).is_ok());
        assert!(matches!(
            store.get("nope"),
            Err(AppError::Unknown(Resource::Visit))
        ));
        assert!(matches!(store.remove(&a), Err(AppError::Unknown(_))));
    }

    #[test]
    fn a_value_taken_out_can_be_put_back_under_its_id() {
        let store = Store::new(Resource::Subscription, 1);
        let id = store.insert("x").unwrap();
        let value = store.remove(&id).unwrap();
        store.restore(&id, value);
        assert_eq!(*store.get(&id).unwrap(), "x");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn idle_and_expired_values_go_and_others_stay() {
        let store = Store::new(Resource::Trial, 10);
        let keep = store.insert(1).unwrap();
        store.insert(2).unwrap();
        assert_eq!(store.expire(Duration::from_secs(60), |v| *v == 2), 1);
        assert_eq!(*store.get(&keep).unwrap(), 1);
        assert_eq!(store.expire(Duration::ZERO, |_| false), 1);
        assert!(store.is_empty());
    }

    #[test]
    fn ids_are_random_128_bit_hex() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
