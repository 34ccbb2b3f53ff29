//! Jittered, growing pauses between attempts (pushes that lost a race,
//! polls of a held lock), so racing runs spread out instead of retrying in
//! step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A random number (std's randomly keyed hasher over the pid; not for secrets).
pub fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// The pause after attempt `attempt` (1-based): random in the upper half
/// of `first` × 2^(attempt-1), capped at `cap`.
pub fn jittered(attempt: u32, first: Duration, cap: Duration) -> Duration {
    let ceiling = first
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(cap);
    let random = (random_u64() % 1000) as u32;
    ceiling / 2 + ceiling / 2 * random / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let first = Duration::from_millis(100);
        let cap = Duration::from_secs(3);
        let one = jittered(1, first, cap);
        assert!(one >= Duration::from_millis(50) && one <= first, "{one:?}");
        let two = jittered(2, first, cap);
        assert!(two >= Duration::from_millis(100) && two <= Duration::from_millis(200));
        assert!(jittered(40, first, cap) <= cap);
    }
}
