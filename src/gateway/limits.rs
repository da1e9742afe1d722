//! Abuse limits on the public routes: the per-client rate limit of
//! `POST /v1/enrollments` ([`EnrollmentRateLimit`], a keyed GCRA limiter
//! from the `governor` crate) and the rule that says who the client is
//! ([`ClientAddresses`]). The global cap on open enrollment sessions is the
//! manager's (`CommonsManager::with_max_open_enrollments`): it holds for
//! every gateway on one store, where this limit is per process.
//!
//! **Invariants:** only the routes that take [`WithinEnrollmentRate`] are
//! limited; a refused request is answered 429 `rate_limited` with
//! `Retry-After` before its body is read or the store is touched; a client
//! can only name another address than its TCP peer address through
//! `X-Forwarded-For` when that peer is a trusted proxy.

use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

/// The default number of enrollment starts a client may make per minute,
/// after its burst is spent (`serve --enrollment-rate-per-minute`): one
/// person enrolling needs one start, a family or a retry a few more. Sized
/// so that one address cannot fill the default open-session cap on its own:
/// a session lives 24 h, and 6 a minute for 24 h plus the burst of 10 is
/// 8,650 sessions, under the 10,000 of `DEFAULT_MAX_OPEN_ENROLLMENTS`.
pub const DEFAULT_ENROLLMENT_RATE_PER_MINUTE: NonZeroU32 = non_zero(6);

/// The default burst of enrollment starts a client may make at once
/// (`serve --enrollment-burst`).
pub const DEFAULT_ENROLLMENT_BURST: NonZeroU32 = non_zero(10);

/// `n` as a [`NonZeroU32`], for constants (0 fails the build).
const fn non_zero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => panic!("a non-zero constant is 0"),
    }
}

/// Who the client of a request is: its TCP peer address, or, when that
/// peer is one of the trusted proxies, the address the proxies recorded in
/// `X-Forwarded-For`.
///
/// The `X-Forwarded-For` entries (every such header, in order, joined by
/// commas; each entry an IP address, optionally with a port) are read from
/// the right, the end the trusted proxies appended to: the client is the
/// right-most entry that is not itself a trusted proxy. Entries to its left
/// were written by the client or by proxies nobody vouches for, so a forged
/// header from a client cannot choose its address; a request that does not
/// come from a trusted proxy is keyed by its peer address whatever its
/// headers say. When an entry does not parse, the walk stops and the last
/// trusted address reached is the client; when every entry is a trusted
/// proxy, the left-most one is. A request without a peer address (not over
/// TCP) is keyed as `0.0.0.0`.
///
/// Addresses are compared with IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// read as IPv4.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddresses {
    trusted_proxies: Vec<IpAddr>,
}

impl ClientAddresses {
    /// The rule with these trusted proxies (`serve --trusted-proxy`; none:
    /// every request is keyed by its peer address).
    pub fn new(trusted_proxies: Vec<IpAddr>) -> Self {
        Self { trusted_proxies: trusted_proxies.into_iter().map(canonical).collect() }
    }

    /// The client address of a request from `peer` carrying these
    /// `X-Forwarded-For` header values (see the type's docs).
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.map_or(IpAddr::from([0, 0, 0, 0]), canonical);
        if !self.is_trusted(client) {
            return client;
        }
        let entries: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        for entry in entries.into_iter().rev() {
            let Some(address) = parse_entry(entry) else { return client };
            client = address;
            if !self.is_trusted(address) {
                return address;
            }
        }
        client
    }

    /// The client address of `req` (see the type's docs).
    pub fn client_of(&self, req: &HttpRequest) -> IpAddr {
        let values: Vec<&str> =
            req.headers().get_all("x-forwarded-for").map(|v| v.to_str().unwrap_or("not text")).collect();
        self.client(req.peer_addr().map(|a| a.ip()), &values)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies.contains(&address)
    }
}

/// An `X-Forwarded-For` entry: an IP address, or an address with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let address = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))?;
    Some(canonical(address))
}

/// IPv4-mapped IPv6 addresses as IPv4; others unchanged.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The limiter's key for a client address: an IPv4 address itself, an IPv6
/// address its /64 network (one subscriber usually holds a whole /64, so
/// keying single IPv6 addresses would give one client 2^64 quotas).
fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

/// The per-client rate limit of `POST /v1/enrollments`: each client (an
/// IPv4 address, or an IPv6 /64; see [`ClientAddresses`]) may start
/// `burst` enrollments at once, then one more every `60 / rate_per_minute`
/// seconds. Past that, 429 `rate_limited` with `Retry-After` (whole
/// seconds, at least 1) until the client's next start is allowed.
///
/// Build ONE per process and share it with every worker (as
/// `web::Data<EnrollmentRateLimit>` app data): each instance keeps its own
/// counts, so one per worker would multiply the quota. The counts live in
/// memory: a restart, or another gateway behind the same load balancer,
/// starts them afresh (the store-wide cap on open sessions is what holds
/// across gateways). Call [`EnrollmentRateLimit::forget_idle`] now and then
/// to drop the state of clients that are back to a full burst.
pub struct EnrollmentRateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clients: ClientAddresses,
    clock: DefaultClock,
}

impl EnrollmentRateLimit {
    /// A limit of `rate_per_minute` starts a minute per client, `burst` at
    /// once, with `clients` deciding who the client is.
    pub fn new(rate_per_minute: NonZeroU32, burst: NonZeroU32, clients: ClientAddresses) -> Self {
        let quota = Quota::per_minute(rate_per_minute).allow_burst(burst);
        Self { limiter: RateLimiter::keyed(quota), clients, clock: DefaultClock::default() }
    }

    /// Counts one start by the client of `req`.
    ///
    /// # Errors
    /// 429 `rate_limited`, with the whole seconds until the client may start
    /// again as its Retry-After, when the client has used its quota.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let client = self.clients.client_of(req);
        self.limiter.check_key(&bucket(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many enrollments started from {client}; retry in {} s", secs.max(1)),
            )
            .with_retry_after(secs.max(1))
        })
    }

    /// Drops the state of clients whose quota is whole again (they behave
    /// as new clients anyway), so memory follows the clients of the last
    /// few minutes only. Returns how many clients are still tracked.
    pub fn forget_idle(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }
}

impl std::fmt::Debug for EnrollmentRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentRateLimit").field("clients", &self.clients).finish_non_exhaustive()
    }
}

/// Extractor of the routes limited by [`EnrollmentRateLimit`]: counts the
/// request against the app's `web::Data<EnrollmentRateLimit>`, or lets it
/// through when the app has none (an app built without `serve`, e.g. in
/// process). Put it before the body extractor, so a refused request's body
/// is never read.
pub(super) struct WithinEnrollmentRate;

impl FromRequest for WithinEnrollmentRate {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<EnrollmentRateLimit>>() {
            Some(limit) => limit.check(req).map(|()| Self),
            None => Ok(Self),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_at_the_default_rate_cannot_fill_the_default_cap() {
        let minutes = crate::model::enrollment::ENROLLMENT_TTL_SECS / 60;
        let most =
            u64::from(DEFAULT_ENROLLMENT_RATE_PER_MINUTE.get()) * minutes + u64::from(DEFAULT_ENROLLMENT_BURST.get());
        assert_eq!(most, 8_650);
        assert!(most < crate::manager::DEFAULT_MAX_OPEN_ENROLLMENTS as u64);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let rule = ClientAddresses::new(vec![ip("10.0.0.1"), ip("10.0.0.2")]);
        let cases = [
            ("untrusted peer, forged header", "192.0.2.9", vec!["203.0.113.5"], "192.0.2.9"),
            ("trusted peer, no header", "10.0.0.1", vec![], "10.0.0.1"),
            ("trusted peer, one entry", "10.0.0.1", vec!["203.0.113.5"], "203.0.113.5"),
            ("client-written entries on the left", "10.0.0.1", vec!["1.1.1.1, 203.0.113.5"], "203.0.113.5"),
            ("a chain of trusted proxies", "10.0.0.1", vec!["203.0.113.5, 10.0.0.2"], "203.0.113.5"),
            ("several headers, in order", "10.0.0.1", vec!["1.1.1.1", "203.0.113.5, 10.0.0.2"], "203.0.113.5"),
            ("entry with a port", "10.0.0.1", vec!["203.0.113.5:4711"], "203.0.113.5"),
            ("IPv6 entry with a port", "10.0.0.1", vec!["[2001:db8::1]:4711"], "2001:db8::1"),
            ("garbage stops the walk", "10.0.0.1", vec!["203.0.113.5, junk, 10.0.0.2"], "10.0.0.2"),
            ("only trusted proxies", "10.0.0.1", vec!["10.0.0.2"], "10.0.0.2"),
            ("mapped IPv6 peer is the IPv4 proxy", "::ffff:10.0.0.1", vec!["203.0.113.5"], "203.0.113.5"),
        ];
        for (what, peer, headers, want) in cases {
            assert_eq!(rule.client(Some(ip(peer)), &headers), ip(want), "{what}");
        }
        assert_eq!(ClientAddresses::default().client(Some(ip("10.0.0.1")), &["203.0.113.5"]), ip("10.0.0.1"));
        assert_eq!(rule.client(None, &["203.0.113.5"]), ip("0.0.0.0"), "no peer: one shared key");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_bit_network() {
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(bucket(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
