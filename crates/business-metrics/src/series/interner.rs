//! One shared copy of each label value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use super::MAX_CACHE_CAPACITY;

/// Label values shared by reference count: every series and cache entry holding a
/// value holds the same copy of it. At most `capacity` values are kept; past that,
/// each caller gets a copy of its own.
pub(crate) struct SharedValues {
    values: RwLock<HashSet<Arc<str>>>,
    capacity: usize,
}

impl SharedValues {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            values: RwLock::new(HashSet::new()),
            capacity: capacity.min(MAX_CACHE_CAPACITY),
        }
    }

    /// The shared copy of `value`.
    pub(crate) fn get(&self, value: Cow<'_, str>) -> Arc<str> {
        if let Some(shared) = self
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(value.as_ref())
        {
            return Arc::clone(shared);
        }
        let mut values = self.values.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = values.get(value.as_ref()) {
            return Arc::clone(shared);
        }
        let value = Arc::<str>::from(value);
        if values.len() < self.capacity {
            values.insert(Arc::clone(&value));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_values_are_one_copy_up_to_the_capacity() {
        let values = SharedValues::new(2);
        let a = values.get(Cow::Borrowed("a"));
        assert!(Arc::ptr_eq(&a, &values.get(Cow::Owned("a".to_owned()))));
        let b = values.get(Cow::Borrowed("b"));
        assert!(Arc::ptr_eq(&b, &values.get(Cow::Borrowed("b"))));
        let c = values.get(Cow::Borrowed("c"));
        assert_eq!(&*c, "c");
        assert!(!Arc::ptr_eq(&c, &values.get(Cow::Borrowed("c"))));
    }
}
