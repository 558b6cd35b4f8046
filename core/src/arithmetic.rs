//! The two primitive operations every bit-exact path must reproduce: fused multiply-add and
//! the order-sensitive maximum used by max pooling.
//!
//! Both are defined by IEEE 754 alone, so a GPU, a Cortex-M7 FPU and a SIMD unit compute the
//! same bits as this module. Nothing here is fast on purpose.

/// `a * b + c` with a single rounding (IEEE 754 fusedMultiplyAdd, round to nearest even).
///
/// With feature `std` this is the C library's `fmaf` (a hardware instruction where present);
/// without it, `libm`'s software `fmaf`. Both are correctly rounded, hence bit-identical.
#[inline(always)]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        std_fma(a, b, c)
    }
    #[cfg(not(feature = "std"))]
    {
        libm::fmaf(a, b, c)
    }
}

#[cfg(feature = "std")]
#[inline(always)]
fn std_fma(a: f32, b: f32, c: f32) -> f32 {
    extern crate std;
    a.mul_add(b, c)
}

/// The running maximum of max pooling: keeps `current` unless `candidate` is strictly greater.
///
/// Pooling visits its inputs row by row, left to right, starting from the top-left one; with
/// this rule, ties (`-0.0` against `+0.0`) resolve to the first visited, which every fast path
/// must reproduce.
#[inline(always)]
pub fn pool_max(current: f32, candidate: f32) -> f32 {
    if candidate > current {
        candidate
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma_rounds_once() {
        // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46: a separate multiply loses the 2^-46 term.
        let a = 1.0 + f32::EPSILON;
        let c = -(1.0 + 2.0 * f32::EPSILON);
        assert_eq!(fma(a, a, c), 2f32.powi(-46));
        assert_eq!(a * a + c, 0.0);
    }

    #[test]
    fn software_and_hardware_fma_agree() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f32::from_bits((state as u32 & 0x3fff_ffff) | ((state >> 32) as u32 & 0x8000_0000))
        };
        for _ in 0..100_000 {
            let (a, b, c) = (next(), next(), next());
            assert_eq!(
                libm::fmaf(a, b, c).to_bits(),
                fma(a, b, c).to_bits(),
                "{a} {b} {c}"
            );
        }
    }

    #[test]
    fn pool_max_keeps_the_first_of_equals() {
        assert_eq!(pool_max(-0.0, 0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(pool_max(0.0, -0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(pool_max(1.0, 2.0), 2.0);
    }
}
