//! Counts per client address of things open now (connections that have not sent a whole
//! request, WebSockets that have not joined), each held as a [`Slot`] that gives itself back
//! when dropped.
//!
//! The map holds an entry only while a slot of its address is held, and each slot belongs to
//! an open connection: it is bounded by the open connections, which the process's file
//! descriptors bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::address::AddressKey;

/// Open things per address, at most `max` each.
#[derive(Debug)]
pub struct AddressCounts {
    max: usize,
    counts: Arc<Mutex<HashMap<AddressKey, usize>>>,
}

/// One counted thing of an address; dropping it gives the count back.
#[derive(Debug)]
pub struct Slot {
    key: AddressKey,
    counts: Arc<Mutex<HashMap<AddressKey, usize>>>,
}

fn lock(counts: &Mutex<HashMap<AddressKey, usize>>) -> MutexGuard<'_, HashMap<AddressKey, usize>> {
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AddressCounts {
    pub fn new(max: usize) -> Self {
        AddressCounts {
            max,
            counts: Arc::default(),
        }
    }

    /// A slot for `key`, or `None` when the address holds `max` already.
    pub fn acquire(&self, key: AddressKey) -> Option<Slot> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(key).or_insert(0);
        if *count >= self.max {
            if *count == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(Slot {
            key,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Slots of `key` held now.
    pub fn held(&self, key: AddressKey) -> usize {
        lock(&self.counts).get(&key).copied().unwrap_or(0)
    }

    /// Addresses holding a slot now.
    pub fn addresses(&self) -> usize {
        lock(&self.counts).len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_given_back_when_dropped() {
        let counts = AddressCounts::new(2);
        let one = AddressKey::of("192.0.2.1".parse().expect("ip"));
        let two = AddressKey::of("192.0.2.2".parse().expect("ip"));
        let a = counts.acquire(one).expect("first");
        let b = counts.acquire(one).expect("second");
        assert!(counts.acquire(one).is_none(), "a third is refused");
        let c = counts.acquire(two).expect("another address");
        assert_eq!(counts.held(one), 2);
        drop(a);
        let d = counts.acquire(one).expect("one was given back");
        drop((b, c, d));
        assert_eq!(counts.addresses(), 0, "no entry outlives its slots");
        let none = AddressCounts::new(0);
        assert!(none.acquire(one).is_none());
        assert_eq!(none.addresses(), 0);
    }
}
