//! Float parameters of one configuration, stored inline in a fixed-size array.
//!
//! Memory: `F32Weights<A, N>` is exactly `4 * N` bytes (`N = A::PARAMS`; 508,664 bytes for
//! configuration 4) and needs no allocator, so it can live in a `static` (`.bss`), on a large
//! stack, or, with feature `std`, in a `Box` made by [`F32Weights::boxed`]. The layout of the
//! array is [`crate::architecture::Layout`].

use core::marker::PhantomData;

use crate::architecture::{Architecture, Config1, Config2, Config3, Config4, Layout};

/// The float parameters of configuration `A`; `N` must equal `A::PARAMS` (checked at compile
/// time when the weights are created).
#[derive(Clone, PartialEq)]
#[repr(transparent)]
pub struct F32Weights<A: Architecture, const N: usize> {
    params: [f32; N],
    architecture: PhantomData<A>,
}

/// Float weights of configuration 1.
pub type Weights1 = F32Weights<Config1, { <Config1 as Architecture>::PARAMS }>;
/// Float weights of configuration 2.
pub type Weights2 = F32Weights<Config2, { <Config2 as Architecture>::PARAMS }>;
/// Float weights of configuration 3.
pub type Weights3 = F32Weights<Config3, { <Config3 as Architecture>::PARAMS }>;
/// Float weights of configuration 4, the default.
pub type Weights4 = F32Weights<Config4, { <Config4 as Architecture>::PARAMS }>;

impl<A: Architecture, const N: usize> F32Weights<A, N> {
    const SIZE_MATCHES: () = assert!(N == A::PARAMS, "N must be the configuration's PARAMS");

    /// All parameters zero. A `const fn`, so firmware can place the weights in a `static`.
    pub const fn zeroed() -> Self {
        let () = Self::SIZE_MATCHES;
        F32Weights {
            params: [0.0; N],
            architecture: PhantomData,
        }
    }

    /// All parameters zero, allocated on the heap without passing through the stack.
    #[cfg(feature = "std")]
    pub fn boxed() -> std::boxed::Box<Self> {
        let () = Self::SIZE_MATCHES;
        let params: std::boxed::Box<[f32; N]> =
            match std::vec![0.0f32; N].into_boxed_slice().try_into() {
                Ok(array) => array,
                Err(_) => unreachable!("a vector of N elements converts to [f32; N]"),
            };
        let raw = std::boxed::Box::into_raw(params) as *mut Self;
        // SAFETY: `F32Weights` is `repr(transparent)` over `[f32; N]` (PhantomData is a
        // zero-sized, align-1 field), so the pointer has the right size, alignment and a valid
        // value, and ownership moves from the box we just released.
        unsafe { std::boxed::Box::from_raw(raw) }
    }

    /// The flat parameter array, in [`Layout`] order.
    pub fn params(&self) -> &[f32; N] {
        &self.params
    }

    /// The flat parameter array, mutable (training, loading).
    pub fn params_mut(&mut self) -> &mut [f32; N] {
        &mut self.params
    }

    /// Where each block sits in [`Self::params`].
    pub const fn layout() -> Layout {
        A::GEOMETRY.layout
    }

    /// Weights of convolution stage `stage`: `[MAPS][C_in][K][K]`.
    pub fn conv_weights(&self, stage: usize) -> &[f32] {
        let layout = Self::layout();
        &self.params[layout.conv_weights[stage]..layout.conv_biases[stage]]
    }

    /// Biases of convolution stage `stage`: `[MAPS]`.
    pub fn conv_biases(&self, stage: usize) -> &[f32] {
        let layout = Self::layout();
        let start = layout.conv_biases[stage];
        &self.params[start..start + crate::architecture::MAPS]
    }

    /// Hidden layer weights `[HIDDEN][MAPS][S][S]`.
    pub fn hidden_weights(&self) -> &[f32] {
        let layout = Self::layout();
        &self.params[layout.hidden_weights..layout.hidden_biases]
    }

    /// Hidden layer biases `[HIDDEN]`.
    pub fn hidden_biases(&self) -> &[f32] {
        let layout = Self::layout();
        &self.params[layout.hidden_biases..layout.output_weights]
    }

    /// Output layer weights `[CLASSES][HIDDEN]`.
    pub fn output_weights(&self) -> &[f32] {
        let layout = Self::layout();
        &self.params[layout.output_weights..layout.output_biases]
    }

    /// Output layer biases `[CLASSES]`.
    pub fn output_biases(&self) -> &[f32] {
        let layout = Self::layout();
        &self.params[layout.output_biases..layout.params]
    }

    /// The index of the first parameter that is NaN or infinite, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.params.iter().position(|value| !value.is_finite())
    }
}

impl<A: Architecture, const N: usize> core::fmt::Debug for F32Weights<A, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "F32Weights(config {}, {} params)", A::ID, N)
    }
}
