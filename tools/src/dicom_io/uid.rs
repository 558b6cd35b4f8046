//! DICOM UIDs for new objects: `2.25.` followed by a 128-bit number in decimal (the UUID-derived
//! root, which needs no registered organisation prefix).

use rand::RngCore;
use std::hash::{BuildHasher, Hasher};

/// A UID from a caller's RNG: deterministic when the RNG is seeded (phantoms).
pub fn uid_from_rng(rng: &mut impl RngCore) -> String {
    let hi = u128::from(rng.next_u64());
    let lo = u128::from(rng.next_u64());
    // Clear the top bit so the number never starts a 40-digit run past the 64-char limit.
    format!("2.25.{}", ((hi << 64) | lo) >> 1)
}

/// A fresh UID unlikely to collide with any other: the process's randomly keyed hasher mixed
/// with the time and `salt` (e.g. the source SOP Instance UID).
pub fn fresh_uid(salt: &str) -> String {
    let state = std::collections::hash_map::RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut parts = [0u64; 2];
    for (k, part) in parts.iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write(salt.as_bytes());
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_usize(k);
        *part = h.finish();
    }
    let n = (u128::from(parts[0]) << 64 | u128::from(parts[1])) >> 1;
    format!("2.25.{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uids_are_valid_and_distinct() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let a = uid_from_rng(&mut rng);
        let b = uid_from_rng(&mut rng);
        let c = fresh_uid("x");
        let d = fresh_uid("x");
        for u in [&a, &b, &c, &d] {
            assert!(u.len() <= 64, "{u}");
            assert!(u.starts_with("2.25."));
            assert!(u[5..].bytes().all(|b| b.is_ascii_digit()));
            assert!(
                !u[5..].starts_with('0') || u.len() == 6,
                "leading zero in {u}"
            );
        }
        assert_ne!(a, b);
        assert_ne!(c, d);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        assert_eq!(uid_from_rng(&mut rng), a, "seeded UIDs must repeat");
    }
}
