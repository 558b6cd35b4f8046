//! The network's shape: the four configurations of the method as types, their derived map sizes,
//! parameter layout and cost, all computed at compile time.
//!
//! A configuration is `Config<W, K1, P1, K2, P2, K3, P3>`: a `W x W` window, three stages of
//! (36-map convolution with a `Kl x Kl` filter, `tanh`, non-overlapping `Pl x Pl` max pooling),
//! a fully connected layer of 100 `tanh` units over the last pooled maps, and 2 logits. This
//! module owns the geometry only; the arithmetic lives in [`crate::reference`].
//!
//! A table whose receptive field is not its window (a convolution larger than its input, a pool
//! that does not divide its map) fails to compile as soon as it is used:
//!
//! ```compile_fail
//! use bonemask_core::architecture::{Architecture, Config};
//! // 127 - 7 + 1 = 121 is not divisible by the first pool of 2.
//! const P: usize = <Config<127, 7, 2, 4, 2, 6, 6> as Architecture>::PARAMS;
//! ```

/// Feature maps in every convolution stage (the method uses 36 throughout).
pub const MAPS: usize = 36;

/// Units in the hidden fully connected layer.
pub const HIDDEN: usize = 100;

/// Output classes: index 0 is "other", index 1 is "bone".
pub const CLASSES: usize = 2;

/// Number of convolution + pooling stages.
pub const STAGES: usize = 3;

/// Map sizes and parameter offsets derived from a configuration table.
///
/// All sizes are in pixels (sides of square maps) or in `f32` elements (offsets into the flat
/// parameter array, see [`Layout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Window side `W` (pixels); equal to the receptive field of one output.
    pub window: usize,
    /// Filter side of each convolution stage.
    pub kernels: [usize; STAGES],
    /// Pool side of each stage.
    pub pools: [usize; STAGES],
    /// Input side of each stage (stage 0's is the window).
    pub inputs: [usize; STAGES],
    /// Convolution output side of each stage (`input - kernel + 1`).
    pub convs: [usize; STAGES],
    /// Pooled output side of each stage (`conv / pool`).
    pub pooled: [usize; STAGES],
    /// Input channels of each stage (1, then [`MAPS`]).
    pub channels_in: [usize; STAGES],
    /// Where each parameter block sits in the flat parameter array.
    pub layout: Layout,
    /// Multiply-adds for one window evaluated on its own.
    pub macs_per_window: usize,
    /// Multiply-adds per output pixel when the whole image is evaluated densely.
    pub macs_per_pixel_dense: usize,
    /// Product of the pools before each stage: the dilation of that stage's taps in dense form.
    pub dilations: [usize; STAGES + 1],
}

/// Offsets (in elements) of each parameter block in the flat `f32` parameter array, and of each
/// weight block in the weights-only array of the int8 form (same order, biases left out).
///
/// Order and inner layout, fixed for every file format version 1:
/// - stage `l` convolution weights `[MAPS][C_in][K][K]` at `conv_weights[l]`, then its
///   `[MAPS]` biases at `conv_biases[l]`;
/// - hidden layer weights `[HIDDEN][MAPS][S][S]` (S = last pooled side) and `[HIDDEN]` biases;
/// - output layer weights `[CLASSES][HIDDEN]` and `[CLASSES]` biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of each stage's convolution weights.
    pub conv_weights: [usize; STAGES],
    /// Start of each stage's convolution biases.
    pub conv_biases: [usize; STAGES],
    /// Start of the hidden layer's weights.
    pub hidden_weights: usize,
    /// Start of the hidden layer's biases.
    pub hidden_biases: usize,
    /// Start of the output layer's weights.
    pub output_weights: usize,
    /// Start of the output layer's biases.
    pub output_biases: usize,
    /// Total number of parameters (weights and biases).
    pub params: usize,
    /// Number of weights alone (without biases).
    pub weights: usize,
    /// Number of biases alone: one per output channel of every layer.
    pub biases: usize,
    /// Start of each stage's convolution weights in the weights-only (int8) array.
    pub packed_conv_weights: [usize; STAGES],
    /// Start of the hidden layer's weights in the weights-only (int8) array.
    pub packed_hidden_weights: usize,
    /// Start of the output layer's weights in the weights-only (int8) array.
    pub packed_output_weights: usize,
}

/// Why a configuration table is inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// A stage's filter is larger than its input map.
    KernelLargerThanInput {
        /// The stage (0-based).
        stage: usize,
    },
    /// A stage's pool does not divide its convolution output, so some pixels of the window
    /// would not reach the output: the receptive field would not be the window.
    PoolDoesNotDivide {
        /// The stage (0-based).
        stage: usize,
    },
    /// A filter or pool side of zero, or a window of zero.
    ZeroSize,
}

impl Geometry {
    /// Derives the geometry of a table, or says why it is inconsistent.
    pub const fn derive(
        window: usize,
        kernels: [usize; STAGES],
        pools: [usize; STAGES],
    ) -> Result<Geometry, GeometryError> {
        if window == 0 {
            return Err(GeometryError::ZeroSize);
        }
        let mut inputs = [0; STAGES];
        let mut convs = [0; STAGES];
        let mut pooled = [0; STAGES];
        let mut channels_in = [MAPS; STAGES];
        channels_in[0] = 1;
        let mut dilations = [1; STAGES + 1];

        let mut side = window;
        let mut stage = 0;
        while stage < STAGES {
            let (kernel, pool) = (kernels[stage], pools[stage]);
            if kernel == 0 || pool == 0 {
                return Err(GeometryError::ZeroSize);
            }
            if kernel > side {
                return Err(GeometryError::KernelLargerThanInput { stage });
            }
            inputs[stage] = side;
            convs[stage] = side - kernel + 1;
            if convs[stage] % pool != 0 {
                return Err(GeometryError::PoolDoesNotDivide { stage });
            }
            pooled[stage] = convs[stage] / pool;
            dilations[stage + 1] = dilations[stage] * pool;
            side = pooled[stage];
            stage += 1;
        }

        let layout = Layout::derive(kernels, channels_in, side);
        let macs_per_window = Self::count_window_macs(kernels, channels_in, convs, side);
        let macs_per_pixel_dense = Self::count_dense_macs(kernels, channels_in, side);
        Ok(Geometry {
            window,
            kernels,
            pools,
            inputs,
            convs,
            pooled,
            channels_in,
            layout,
            macs_per_window,
            macs_per_pixel_dense,
            dilations,
        })
    }

    /// Side `S` of the last pooled maps, which the hidden layer reads whole.
    pub const fn last_side(&self) -> usize {
        self.pooled[STAGES - 1]
    }

    /// Inputs of the hidden layer: `MAPS * S * S`.
    pub const fn hidden_inputs(&self) -> usize {
        MAPS * self.last_side() * self.last_side()
    }

    const fn count_window_macs(
        kernels: [usize; STAGES],
        channels_in: [usize; STAGES],
        convs: [usize; STAGES],
        last_side: usize,
    ) -> usize {
        let mut macs = 0;
        let mut stage = 0;
        while stage < STAGES {
            let per_output = channels_in[stage] * kernels[stage] * kernels[stage];
            macs += MAPS * convs[stage] * convs[stage] * per_output;
            stage += 1;
        }
        macs + HIDDEN * MAPS * last_side * last_side + CLASSES * HIDDEN
    }

    const fn count_dense_macs(
        kernels: [usize; STAGES],
        channels_in: [usize; STAGES],
        last_side: usize,
    ) -> usize {
        let mut macs = 0;
        let mut stage = 0;
        while stage < STAGES {
            macs += MAPS * channels_in[stage] * kernels[stage] * kernels[stage];
            stage += 1;
        }
        macs + HIDDEN * MAPS * last_side * last_side + CLASSES * HIDDEN
    }
}

impl Layout {
    const fn derive(
        kernels: [usize; STAGES],
        channels_in: [usize; STAGES],
        last_side: usize,
    ) -> Layout {
        let mut conv_weights = [0; STAGES];
        let mut conv_biases = [0; STAGES];
        let mut at = 0;
        let mut weights = 0;
        let mut stage = 0;
        while stage < STAGES {
            let count = MAPS * channels_in[stage] * kernels[stage] * kernels[stage];
            conv_weights[stage] = at;
            conv_biases[stage] = at + count;
            at += count + MAPS;
            weights += count;
            stage += 1;
        }

        let hidden_count = HIDDEN * MAPS * last_side * last_side;
        let hidden_weights = at;
        let hidden_biases = at + hidden_count;
        at += hidden_count + HIDDEN;

        let output_weights = at;
        let output_biases = at + CLASSES * HIDDEN;
        at += CLASSES * HIDDEN + CLASSES;

        let mut packed_conv_weights = [0; STAGES];
        let mut stage = 0;
        while stage < STAGES {
            packed_conv_weights[stage] = conv_weights[stage] - stage * MAPS;
            stage += 1;
        }
        let packed_hidden_weights = hidden_weights - STAGES * MAPS;
        let packed_output_weights = output_weights - STAGES * MAPS - HIDDEN;

        weights += hidden_count + CLASSES * HIDDEN;
        Layout {
            packed_conv_weights,
            packed_hidden_weights,
            packed_output_weights,
            conv_weights,
            conv_biases,
            hidden_weights,
            hidden_biases,
            output_weights,
            output_biases,
            params: at,
            weights,
            biases: at - weights,
        }
    }
}

/// A network configuration known at compile time.
///
/// Implemented by [`Config`]; the associated constants are what the rest of the crate sizes its
/// buffers with. Evaluating [`Architecture::GEOMETRY`] for an inconsistent table is a compile
/// error.
pub trait Architecture: Copy + Default + 'static {
    /// Window side `W` in pixels.
    const WINDOW: usize;
    /// Filter side of each convolution stage.
    const KERNELS: [usize; STAGES];
    /// Pool side of each stage.
    const POOLS: [usize; STAGES];

    /// The derived geometry; a compile error for an inconsistent table.
    const GEOMETRY: Geometry = match Geometry::derive(Self::WINDOW, Self::KERNELS, Self::POOLS) {
        Ok(geometry) => geometry,
        Err(GeometryError::KernelLargerThanInput { .. }) => {
            panic!("configuration table: a filter is larger than its input map")
        }
        Err(GeometryError::PoolDoesNotDivide { .. }) => {
            panic!(
                "configuration table: a pool does not divide its map (receptive field != window)"
            )
        }
        Err(GeometryError::ZeroSize) => panic!("configuration table: a size of zero"),
    };

    /// Total parameters (weights and biases).
    const PARAMS: usize = Self::GEOMETRY.layout.params;
    /// Weights alone.
    const WEIGHTS: usize = Self::GEOMETRY.layout.weights;
    /// Biases alone (one per output channel of every layer).
    const BIASES: usize = Self::GEOMETRY.layout.biases;
    /// Multiply-adds to evaluate one window on its own.
    const MACS_PER_WINDOW: usize = Self::GEOMETRY.macs_per_window;
    /// Multiply-adds per pixel when an image is evaluated densely.
    const MACS_PER_PIXEL_DENSE: usize = Self::GEOMETRY.macs_per_pixel_dense;
    /// The number of this configuration in the method's table (1..=4), or 0 for another table.
    const ID: u8 = configuration_id(Self::WINDOW, Self::KERNELS, Self::POOLS);
}

/// A configuration table as a type: window `W`, and filter `Kl` and pool `Pl` of each stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config<
    const W: usize,
    const K1: usize,
    const P1: usize,
    const K2: usize,
    const P2: usize,
    const K3: usize,
    const P3: usize,
>;

impl<
    const W: usize,
    const K1: usize,
    const P1: usize,
    const K2: usize,
    const P2: usize,
    const K3: usize,
    const P3: usize,
> Architecture for Config<W, K1, P1, K2, P2, K3, P3>
{
    const WINDOW: usize = W;
    const KERNELS: [usize; STAGES] = [K1, K2, K3];
    const POOLS: [usize; STAGES] = [P1, P2, P3];
}

/// Configuration 1: 64x64 window; 5x5, 3x3, 6x6 filters; pools 2, 2, 3.
pub type Config1 = Config<64, 5, 2, 3, 2, 6, 3>;
/// Configuration 2: 96x96 window; 5x5, 5x5, 6x6 filters; pools 2, 2, 4.
pub type Config2 = Config<96, 5, 2, 5, 2, 6, 4>;
/// Configuration 3: 102x102 window; 7x7, 5x5, 5x5 filters; pools 2, 2, 6.
pub type Config3 = Config<102, 7, 2, 5, 2, 5, 6>;
/// Configuration 4, the method's chosen network and the default: 128x128 window; 7x7, 4x4,
/// 6x6 filters; pools 2, 2, 6.
pub type Config4 = Config<128, 7, 2, 4, 2, 6, 6>;

/// The default configuration.
pub type DefaultConfig = Config4;

/// The four tables of the method: (window, filters, pools), indexed by configuration number - 1.
pub const TABLES: [(usize, [usize; STAGES], [usize; STAGES]); 4] = [
    (64, [5, 3, 6], [2, 2, 3]),
    (96, [5, 5, 6], [2, 2, 4]),
    (102, [7, 5, 5], [2, 2, 6]),
    (128, [7, 4, 6], [2, 2, 6]),
];

/// The configuration number (1..=4) of a table, or 0 if it is none of the method's.
pub const fn configuration_id(
    window: usize,
    kernels: [usize; STAGES],
    pools: [usize; STAGES],
) -> u8 {
    let mut index = 0;
    while index < TABLES.len() {
        let (w, k, p) = TABLES[index];
        if w == window
            && k[0] == kernels[0]
            && k[1] == kernels[1]
            && k[2] == kernels[2]
            && p[0] == pools[0]
            && p[1] == pools[1]
            && p[2] == pools[2]
        {
            return index as u8 + 1;
        }
        index += 1;
    }
    0
}

// The method's tables, checked when the crate builds.
const _: () = assert!(Config1::GEOMETRY.hidden_inputs() == 324);
const _: () = assert!(Config2::GEOMETRY.hidden_inputs() == 576);
const _: () = assert!(Config3::GEOMETRY.hidden_inputs() == 324);
const _: () = assert!(Config4::GEOMETRY.hidden_inputs() == 576);
const _: () = assert!(Config4::PARAMS == 127_166);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_sides_match_the_spec_table() {
        let g = Config4::GEOMETRY;
        assert_eq!(g.convs, [122, 58, 24]);
        assert_eq!(g.pooled, [61, 29, 4]);
        let g = Config1::GEOMETRY;
        assert_eq!(g.convs, [60, 28, 9]);
        assert_eq!(g.pooled, [30, 14, 3]);
        let g = Config2::GEOMETRY;
        assert_eq!(g.convs, [92, 42, 16]);
        assert_eq!(g.pooled, [46, 21, 4]);
        let g = Config3::GEOMETRY;
        assert_eq!(g.convs, [96, 44, 18]);
        assert_eq!(g.pooled, [48, 22, 3]);
    }

    #[test]
    fn config4_cost_matches_the_spec() {
        assert_eq!(Config4::PARAMS, 127_166);
        // "about 123 million multiply-adds per window" and "127,000 per pixel" densely.
        assert_eq!(Config4::MACS_PER_WINDOW, 122_942_936);
        assert_eq!((Config4::MACS_PER_WINDOW + 500_000) / 1_000_000, 123);
        assert_eq!(Config4::MACS_PER_PIXEL_DENSE, 126_956);
        assert_eq!(Config4::WEIGHTS + Config4::BIASES, Config4::PARAMS);
        assert_eq!(Config4::BIASES, 3 * MAPS + HIDDEN + CLASSES);
    }

    #[test]
    fn ids_follow_the_table() {
        assert_eq!(Config1::ID, 1);
        assert_eq!(Config2::ID, 2);
        assert_eq!(Config3::ID, 3);
        assert_eq!(Config4::ID, 4);
        assert_eq!(<Config<12, 3, 2, 3, 1, 3, 1> as Architecture>::ID, 0);
    }

    #[test]
    fn inconsistent_tables_are_refused() {
        assert_eq!(
            Geometry::derive(127, [7, 4, 6], [2, 2, 6]),
            Err(GeometryError::PoolDoesNotDivide { stage: 0 })
        );
        assert_eq!(
            Geometry::derive(8, [9, 1, 1], [1, 1, 1]),
            Err(GeometryError::KernelLargerThanInput { stage: 0 })
        );
        assert_eq!(
            Geometry::derive(8, [0, 1, 1], [1, 1, 1]),
            Err(GeometryError::ZeroSize)
        );
    }

    #[test]
    fn dilations_are_pool_products() {
        assert_eq!(Config4::GEOMETRY.dilations, [1, 2, 4, 24]);
        assert_eq!(Config1::GEOMETRY.dilations, [1, 2, 4, 12]);
    }
}
