//! The insert-only table that maps a combination's raw label values to its series.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Default number of entries each cache holds.
pub(crate) const DEFAULT_CACHE_CAPACITY: usize = 2048;

/// The most entries any cache may be configured to hold.
pub(crate) const MAX_CACHE_CAPACITY: usize = 1 << 20;

struct Entry<V> {
    hash: u64,
    /// The key's parts in one allocation, each after its length (see [`encode_key`]).
    key: Box<[u8]>,
    value: Arc<V>,
}

/// An insert-only hash table of at most `capacity` entries, keyed by a few strings.
///
/// Lookups take no lock and write nothing shared: a hash, a few atomic loads and a
/// key comparison, so threads recording the same combinations do not contend here.
/// Inserts are serialised by a mutex. Probing is linear and ends at the first empty
/// slot; the table is never more than half full, so every chain ends, chains stay
/// short, and an insert below capacity always finds a slot. The hash is seeded per
/// cache, so colliding keys cannot be chosen in advance.
pub(crate) struct SeriesCache<V> {
    slots: Box<[OnceLock<Box<Entry<V>>>]>,
    seed: u64,
    capacity: usize,
    len: AtomicUsize,
    insert: Mutex<()>,
}

impl<V> SeriesCache<V> {
    /// A cache of up to `capacity` entries (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_CACHE_CAPACITY);
        let slots = if capacity == 0 {
            0
        } else {
            // At most half full, so probe chains stay short.
            capacity.saturating_mul(2).next_power_of_two()
        };
        Self {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            // A random seed per cache: colliding keys cannot be chosen in advance.
            seed: RandomState::new().hash_one(0x5eed_u64),
            capacity,
            len: AtomicUsize::new(0),
            insert: Mutex::new(()),
        }
    }

    /// How many entries the cache holds.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the cache holds as many entries as it may (an insert would be
    /// refused), read without taking the insert lock.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    fn hash(&self, key: &[&str]) -> u64 {
        let mut h = self.seed;
        for part in key {
            let bytes = part.as_bytes();
            let mut words = bytes.chunks_exact(8);
            for word in &mut words {
                h = mix(h, word.try_into().map_or(0, u64::from_le_bytes));
            }
            h = mix(h, tail(words.remainder()));
            // The length separates parts: ("ab", "c") and ("a", "bc") differ.
            h = mix(h, u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        }
        finish(h)
    }

    fn probes(&self, hash: u64) -> impl Iterator<Item = usize> {
        let mask = self.slots.len().wrapping_sub(1);
        // Truncation is intended: the low bits pick the slot.
        let start = usize::try_from(hash & u64::from(u32::MAX)).unwrap_or(0);
        // The table is at most half full, so a chain meets an empty slot long before
        // it wraps round; the bound only keeps the loop finite.
        (0..self.slots.len()).map(move |i| start.wrapping_add(i) & mask)
    }

    /// The entry for `key`.
    #[inline]
    pub(crate) fn get(&self, key: &[&str]) -> Option<&Arc<V>> {
        let hash = self.hash(key);
        for idx in self.probes(hash) {
            // An empty slot ends the chain: inserts fill the first empty slot.
            let entry = self.slots.get(idx)?.get()?;
            if entry.hash == hash && key_eq(&entry.key, key) {
                return Some(&entry.value);
            }
        }
        None
    }

    /// The entry for `key`, created by `make` if absent. `None` when the cache is full
    /// (or disabled); then `make` is not called.
    pub(crate) fn insert_with(&self, key: &[&str], make: impl FnOnce() -> V) -> Option<&Arc<V>> {
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        let hash = self.hash(key);
        for idx in self.probes(hash) {
            let slot = self.slots.get(idx)?;
            match slot.get() {
                Some(entry) if entry.hash == hash && key_eq(&entry.key, key) => {
                    return Some(&entry.value);
                }
                Some(_) => {}
                None => {
                    if self.len() >= self.capacity {
                        return None;
                    }
                    let entry = Box::new(Entry {
                        hash,
                        key: encode_key(key),
                        value: Arc::new(make()),
                    });
                    // Only inserts set slots, and they hold the lock: the slot is empty.
                    let _ = slot.set(entry);
                    self.len.fetch_add(1, Ordering::Relaxed);
                    return slot.get().map(|e| &e.value);
                }
            }
        }
        None
    }
}

/// A key as one byte string: each part after its length, 7 bits a byte, low bits
/// first, the high bit set on every byte but the last (one byte below 128).
fn encode_key(key: &[&str]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(key.iter().map(|p| p.len() + 1).sum());
    for part in key {
        let mut n = part.len();
        while n >= 0x80 {
            out.push(low_bits(n) | 0x80);
            n >>= 7;
        }
        out.push(low_bits(n));
        out.extend_from_slice(part.as_bytes());
    }
    out.into_boxed_slice()
}

fn low_bits(n: usize) -> u8 {
    u8::try_from(n & 0x7f).unwrap_or(0)
}

/// The length in front of a key part, and what follows it.
#[inline]
fn split_length(stored: &[u8]) -> Option<(usize, &[u8])> {
    // Label values are short: one byte holds the length.
    if let [len @ 0..=0x7f, rest @ ..] = stored {
        return Some((usize::from(*len), rest));
    }
    let mut n = 0usize;
    for (i, byte) in stored.iter().enumerate().take(10) {
        n |= usize::from(byte & 0x7f).checked_shl(7 * u32::try_from(i).ok()?)?;
        if byte & 0x80 == 0 {
            return Some((n, stored.get(i + 1..)?));
        }
    }
    None
}

#[inline]
fn key_eq(mut stored: &[u8], key: &[&str]) -> bool {
    for part in key {
        let Some((len, rest)) = split_length(stored) else {
            return false;
        };
        let Some((bytes, rest)) = rest.split_at_checked(len) else {
            return false;
        };
        if !bytes_eq(bytes, part.as_bytes()) {
            return false;
        }
        stored = rest;
    }
    stored.is_empty()
}

/// `a == b`, without a call to `memcmp` for the short values labels have: up to 16
/// bytes are compared as two overlapping words.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 16 {
        return a == b;
    }
    let word8 = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    if n >= 8 {
        // Two overlapping reads cover 8 to 16 bytes.
        word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8)
    } else {
        tail(a) == tail(b)
    }
}

/// Up to 7 bytes as one word, without a byte loop.
#[inline]
fn tail(b: &[u8]) -> u64 {
    let n = b.len();
    let word4 = |at: usize| {
        b.get(at..at + 4)
            .and_then(|w| w.try_into().ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let byte = |at: usize| b.get(at).map_or(0, |v| u64::from(*v));
    if n >= 4 {
        // Two overlapping reads cover 4 to 7 bytes.
        word4(0) | word4(n - 4) << 32
    } else if n > 0 {
        byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16
    } else {
        0
    }
}

#[inline]
fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// A cached series or one made for a single use when the cache had no room.
pub(crate) enum Resolved<'a, V> {
    Cached(&'a Arc<V>),
    Owned(Arc<V>),
}

impl<V> Clone for Resolved<'_, V> {
    fn clone(&self) -> Self {
        match self {
            Self::Cached(v) => Self::Cached(v),
            Self::Owned(v) => Self::Owned(Arc::clone(v)),
        }
    }
}

impl<V> Resolved<'_, V> {
    #[inline]
    pub(crate) fn get(&self) -> &V {
        match self {
            Self::Cached(v) => v,
            Self::Owned(v) => v,
        }
    }

    /// The series, to hold.
    pub(crate) fn into_arc(self) -> Arc<V> {
        match self {
            Self::Cached(v) => Arc::clone(v),
            Self::Owned(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_inserted_and_nothing_else() {
        let cache = SeriesCache::new(64);
        for i in 0..64u32 {
            let s = i.to_string();
            let got = cache.insert_with(&[&s, "x"], || i).map(|v| **v);
            assert_eq!(got, Some(i));
        }
        assert_eq!(cache.len(), 64);
        for i in 0..64u32 {
            let s = i.to_string();
            let v = cache.get(&[&s, "x"]).unwrap();
            assert_eq!(**v, i);
            assert!(cache.get(&[&s, "y"]).is_none());
        }
        // Parts are separated: ("1", "0x") is not ("10", "x").
        assert!(cache.get(&["1", "0x"]).is_none());
    }

    #[test]
    fn short_comparisons_see_every_byte() {
        for n in 0..=20usize {
            let a: Vec<u8> = (b'a'..=b'z').cycle().take(n).collect();
            assert!(bytes_eq(&a, &a.clone()), "length {n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!bytes_eq(&a, &b), "length {n}, byte {at}");
            }
            let longer = [a.as_slice(), b"x"].concat();
            assert!(!bytes_eq(&a, &longer), "length {n}");
        }
    }

    #[test]
    fn every_key_below_capacity_is_cached_whatever_the_seed() {
        // Each cache draws its own seed; across many of them, some hash a key set
        // into long clusters. None may refuse a key while below capacity.
        let keys: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
        for _ in 0..300 {
            let cache = SeriesCache::new(keys.len());
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(cache.insert_with(&[k], || i).map(|v| **v), Some(i));
            }
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(cache.get(&[k]).map(|v| **v), Some(i));
            }
            assert!(cache.insert_with(&["one more"], || 0).is_none());
        }
        let big = SeriesCache::new(DEFAULT_CACHE_CAPACITY);
        for i in 0..DEFAULT_CACHE_CAPACITY {
            let k = i.to_string();
            assert!(
                big.insert_with(&[&k, "x"], || i).is_some(),
                "key {i} refused"
            );
        }
        assert_eq!(big.len(), DEFAULT_CACHE_CAPACITY);
    }

    #[test]
    fn a_full_cache_refuses_new_keys_but_keeps_serving_old_ones() {
        let cache = SeriesCache::new(3);
        for k in ["a", "b", "c"] {
            assert!(cache.insert_with(&[k], || k.len()).is_some());
        }
        let mut made = false;
        assert!(cache
            .insert_with(&["d"], || {
                made = true;
                0
            })
            .is_none());
        assert!(!made);
        assert_eq!(cache.insert_with(&["a"], || 9).map(|v| **v), Some(1));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let cache = SeriesCache::new(0);
        assert!(cache.insert_with(&["a"], || 1).is_none());
        assert!(cache.get(&["a"]).is_none());
    }

    #[test]
    fn keys_with_long_and_empty_parts_are_told_apart() {
        let long = "x".repeat(300);
        let longer = "x".repeat(301);
        let cache = SeriesCache::new(8);
        assert!(cache.insert_with(&[&long, ""], || 1).is_some());
        assert!(cache.insert_with(&["", &long], || 2).is_some());
        assert_eq!(cache.get(&[&long, ""]).map(|v| **v), Some(1));
        assert_eq!(cache.get(&["", &long]).map(|v| **v), Some(2));
        assert!(cache.get(&[&longer]).is_none());
        assert!(cache.get(&[&long]).is_none());
        assert!(cache.get(&[&long, "", ""]).is_none());
    }
}
