//! The binary bone mask type shared by the metrics, the PNG readers and the writers.

/// A binary label map: `H x W` row-major values, 0 for other and 1 for bone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Width `W` in pixels.
    pub width: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// `H x W` labels, row-major, each 0 (other) or 1 (bone).
    pub labels: Vec<u8>,
}

impl Mask {
    /// An all-background mask of `width x height` pixels.
    pub fn empty(width: usize, height: usize) -> Self {
        Mask {
            width,
            height,
            labels: vec![0; width * height],
        }
    }

    /// Builds a mask from `H x W` grey values, bone where the value is at least `threshold`.
    pub fn from_grey(width: usize, height: usize, grey: &[u8], threshold: u8) -> Self {
        Mask {
            width,
            height,
            labels: grey.iter().map(|&g| u8::from(g >= threshold)).collect(),
        }
    }

    /// Builds a mask from rows of text, `#` for bone and anything else for other; every row
    /// must have the same length. Meant for tests and examples, never for input.
    ///
    /// # Panics
    ///
    /// If the rows differ in length.
    pub fn from_art(rows: &[&str]) -> Self {
        let height = rows.len();
        let width = rows.first().map_or(0, |r| r.len());
        let mut labels = Vec::with_capacity(width * height);
        for row in rows {
            assert_eq!(row.len(), width, "ragged mask art");
            labels.extend(row.bytes().map(|b| u8::from(b == b'#')));
        }
        Mask {
            width,
            height,
            labels,
        }
    }

    /// Number of pixels, `H * W`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the mask has no pixels.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of bone pixels.
    pub fn count_bone(&self) -> usize {
        self.labels.iter().filter(|&&v| v != 0).count()
    }
}
