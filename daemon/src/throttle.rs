//! Guessing the password: after `MAX_FAILURES` wrong ones in a row from an
//! address, that address is refused everything for `BAN` (qBittorrent bans
//! after 5 failures too). Sans-IO: the time is an argument.
//!
//! A failure is a login with a wrong password or a request carrying wrong
//! credentials (basic or bearer auth); a request without any credentials is
//! not a guess and does not count. A success clears the address's count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords in a row before an address is banned.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long a ban lasts.
pub(crate) const BAN: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at once (bounded memory under a spray of
/// addresses); past it, addresses not banned are forgotten first.
const MAX_TRACKED: usize = 4096;

/// Set on a response by a handler or guard that refused credentials.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthFailed;

/// Set on a response by a login that succeeded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthSucceeded;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    banned_until: Option<Instant>,
}

/// Failure counts and bans by address.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

impl Throttle {
    /// How much longer `ip` is banned, if it is.
    pub(crate) fn banned(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let until = entries.get(&ip)?.banned_until?;
        if now >= until {
            entries.remove(&ip);
            return None;
        }
        Some(until - now)
    }

    /// One more wrong password from `ip`; returns true when this one
    /// started a ban.
    pub(crate) fn failed(&self, ip: IpAddr, now: Instant) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TRACKED && !entries.contains_key(&ip) {
            entries.retain(|_, e| e.banned_until.is_some_and(|u| u > now));
            if entries.len() >= MAX_TRACKED {
                return false;
            }
        }
        let e = entries.entry(ip).or_insert(Entry {
            failures: 0,
            banned_until: None,
        });
        e.failures += 1;
        if e.failures >= MAX_FAILURES && e.banned_until.is_none() {
            e.banned_until = Some(now + BAN);
            return true;
        }
        false
    }

    /// Right credentials from `ip`: its count starts again.
    pub(crate) fn succeeded(&self, ip: IpAddr) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.get(&ip).is_some_and(|e| e.banned_until.is_none()) {
            entries.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn five_wrong_passwords_in_a_row_ban_the_address_for_a_while() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 1..MAX_FAILURES {
            assert!(!t.failed(A, now));
        }
        assert_eq!(t.banned(A, now), None);
        assert!(t.failed(A, now), "the fifth starts the ban");
        assert_eq!(t.banned(A, now), Some(BAN));
        assert_eq!(t.banned(B, now), None, "only that address");
        // A right password does not lift a ban.
        t.succeeded(A);
        assert!(t.banned(A, now + BAN / 2).is_some());
        assert_eq!(t.banned(A, now + BAN), None, "it ends");
        assert!(!t.failed(A, now + BAN), "and the count starts again");
    }

    #[test]
    fn a_success_clears_the_count() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 1..MAX_FAILURES {
            t.failed(A, now);
        }
        t.succeeded(A);
        for _ in 1..MAX_FAILURES {
            assert!(!t.failed(A, now));
        }
        assert_eq!(t.banned(A, now), None);
    }

    #[test]
    fn memory_is_bounded_under_a_spray_of_addresses() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 100) {
            t.failed(IpAddr::V4(i.into()), now);
        }
        assert!(t.entries.lock().unwrap().len() <= MAX_TRACKED);
    }
}
