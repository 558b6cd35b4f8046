//! Border handling: the mirror reflection that lets every pixel, even at the image's edge, see a
//! full window.
//!
//! The mirror is about the edge pixel without repeating it (index -1 reads 1, index `len` reads
//! `len - 2`), applied again as often as needed when the window is wider than the image; an axis
//! of length 1 is constant.

/// The in-image index that the possibly out-of-image `index` reads, for an axis of `len` pixels.
///
/// `len` must be at least 1; a `len` of 0 returns 0 (callers refuse empty images first).
pub const fn mirror(index: isize, len: usize) -> usize {
    if len <= 1 {
        return 0;
    }
    let period = 2 * (len as isize - 1);
    let folded = index.rem_euclid(period);
    if folded >= len as isize {
        (period - folded) as usize
    } else {
        folded as usize
    }
}

#[cfg(test)]
mod tests {
    use super::mirror;

    #[test]
    fn reflects_without_repeating_the_edge() {
        assert_eq!(mirror(-1, 5), 1);
        assert_eq!(mirror(-2, 5), 2);
        assert_eq!(mirror(5, 5), 3);
        assert_eq!(mirror(6, 5), 2);
        assert_eq!(mirror(0, 5), 0);
        assert_eq!(mirror(4, 5), 4);
    }

    #[test]
    fn reflects_repeatedly_on_narrow_axes() {
        // Axis 0 1 2: ... 2 1 [0 1 2] 1 0 1 2 1 0 ...
        let expected = [0, 1, 2, 1, 0, 1, 2, 1, 0];
        for (offset, want) in expected.iter().enumerate() {
            assert_eq!(mirror(offset as isize, 3), *want);
            assert_eq!(mirror(-(offset as isize), 3), *want);
        }
        assert_eq!(mirror(-1000, 2), 0);
        assert_eq!(mirror(1001, 2), 1);
        assert_eq!(mirror(-7, 1), 0);
    }
}
