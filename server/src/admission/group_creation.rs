//! The limits on creating groups: a token bucket per client address, and one for the whole
//! server.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::address::AddressKey;
use super::buckets::{Bucket, KeyedBuckets, Rate};

/// Why a group may not be created now, and how long until it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreationRefused {
    /// This address created its share.
    Address { retry_after: Duration },
    /// The server created its share.
    Server { retry_after: Duration },
}

/// The buckets of group creation.
#[derive(Debug)]
pub struct GroupCreationLimits {
    per_address: Mutex<KeyedBuckets<AddressKey>>,
    server: Mutex<Bucket>,
}

impl GroupCreationLimits {
    /// An address creates `per_address_burst` groups at once and `per_address_per_hour` an
    /// hour, counted for at most `addresses_max` addresses; the server `per_hour` an hour, a
    /// tenth of it at once.
    pub fn new(
        per_address_burst: u32,
        per_address_per_hour: u32,
        per_hour: u32,
        addresses_max: usize,
    ) -> Self {
        let per_address = Rate::per_hour(per_address_burst, per_address_per_hour);
        let server = Rate::per_hour((per_hour / 10).max(1).min(per_hour), per_hour);
        GroupCreationLimits {
            per_address: Mutex::new(KeyedBuckets::new(per_address, addresses_max)),
            server: Mutex::new(server.full(Instant::now())),
        }
    }

    /// Counts a creation by `client` at `now`, or refuses it (counting nothing).
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<(), CreationRefused> {
        let key = AddressKey::of(client);
        let mut per_address = lock(&self.per_address);
        per_address
            .take(key, now)
            .map_err(|retry_after| CreationRefused::Address { retry_after })?;
        if let Err(retry_after) = lock(&self.server).take(now) {
            per_address.give_back(key);
            return Err(CreationRefused::Server { retry_after });
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_and_the_server_its_share() {
        let creations = GroupCreationLimits::new(2, 1, 30, 100);
        let now = Instant::now();
        let one: IpAddr = "192.0.2.1".parse().expect("ip");
        creations.admit(one, now).expect("first");
        creations.admit(one, now).expect("second");
        assert_eq!(
            creations.admit(one, now),
            Err(CreationRefused::Address {
                retry_after: Duration::from_secs(3600)
            })
        );
        // The server's burst is a tenth of 30 an hour: 3, one of which is left.
        let two: IpAddr = "192.0.2.2".parse().expect("ip");
        creations.admit(two, now).expect("the server's third");
        let three: IpAddr = "192.0.2.3".parse().expect("ip");
        assert_eq!(
            creations.admit(three, now),
            Err(CreationRefused::Server {
                retry_after: Duration::from_secs(120)
            })
        );
        // The address's token was given back: after the server's refill, it passes.
        let later = now + Duration::from_secs(120);
        creations.admit(three, later).expect("after two minutes");
    }
}
