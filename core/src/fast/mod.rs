//! The fast dense path on the host (feature `std`): every pixel of an image labelled in one
//! pass, with SIMD across neighbouring output columns and one thread per horizontal band, bit
//! for bit equal to the per-window references [`crate::reference::forward_window`] (f32) and
//! [`crate::int8::forward_window_int8`] (int8).
//!
//! How: the network is evaluated densely (dilated convolutions and dilated pooling, see the
//! contract in [`plan`]) row by row through ring buffers ([`stream`]). Each f32 output runs
//! exactly the reference's fma chain, so vectorising across outputs changes no bit; int8 sums
//! are exact in any order.
//!
//! Kernels ([`Kernel`], chosen at run time by [`Kernel::detect`]):
//! - `avx512-vnni`: x86-64 with AVX-512 F, BW, VL and VNNI (and AVX2 + FMA). f32: 6 maps (5
//!   hidden units) x 64 columns per micro-kernel call, 24 `vfmadd231ps` accumulators, each
//!   broadcast weight used four times. int8: the same blocks, four channels per 32-bit lane as
//!   unsigned bytes (activation + 128) multiplied by signed weights with `vpdpbusd`, the offset
//!   corrected exactly in the biases; activation before pooling, pooling on bytes.
//! - `avx2+fma`: x86-64 with AVX2 and FMA. f32: a 6-map x 16-column micro-kernel of `vfmadd`.
//!   int8: channel pairs widened to i16 and multiplied with `vpmaddwd` (exact: a pair sums to
//!   at most 2 * 127 * 127).
//! - `portable`: plain Rust, any CPU; the same results, far slower.
//!
//! The AVX-512 kernel was written and measured on an AMD EPYC of the Zen 4 class (512-bit
//! operations issued as two 256-bit halves); the AVX2 one on a Zen 3 EPYC. A CPU with AVX-512 F
//! but without VNNI (Skylake-SP) runs the AVX2 kernels for both precisions: there is no
//! AVX-512 f32 kernel of its own for it, since no such CPU was at hand to test one.
//!
//! Memory: the logits (`8 * H * Wd` bytes), plus [`working_bytes`] of ring buffers per band
//! (about 45 MB per thread for configuration 4 on a 1984-column image), plus the packed weights.

mod float;
#[cfg(target_arch = "x86_64")]
mod float_avx2;
#[cfg(target_arch = "x86_64")]
mod float_avx512;
mod integer;
#[cfg(target_arch = "x86_64")]
mod integer_avx2;
#[cfg(target_arch = "x86_64")]
mod integer_avx512;
mod plan;
mod stream;

use std::vec::Vec;

use crate::architecture::Architecture;
use crate::int8::{InputQuant, Int8Weights};
use crate::prediction::Label;
use crate::reference::ForwardError;
use crate::scaling::InputAffine;
use crate::weights::F32Weights;
use crate::window::{ImageError, RawImage};

/// The row kernels a scan runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// x86-64 AVX-512 intrinsics (F, BW, VL and VNNI), 16 f32 or 16 i32 lanes per vector.
    Avx512Vnni,
    /// x86-64 AVX2 and FMA intrinsics, 8 f32 or 8 i32 lanes per vector.
    Avx2Fma,
    /// Plain Rust for any CPU.
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs: [`Kernel::Avx512Vnni`] where AVX-512 F, BW, VL and
    /// VNNI are present, else [`Kernel::Avx2Fma`] where AVX2 and FMA are, else
    /// [`Kernel::Portable`].
    pub fn detect() -> Kernel {
        if Kernel::Avx512Vnni.is_available() {
            Kernel::Avx512Vnni
        } else if Kernel::Avx2Fma.is_available() {
            Kernel::Avx2Fma
        } else {
            Kernel::Portable
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // AVX2 and FMA too: every such CPU has them, and the kernel's f32 helpers may
                // assume them.
                Kernel::Avx2Fma.is_available()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2Fma | Kernel::Avx512Vnni => false,
        }
    }

    /// Short name for logs and benchmarks: `"avx512-vnni"`, `"avx2+fma"` or `"portable"`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512Vnni => "avx512-vnni",
            Kernel::Avx2Fma => "avx2+fma",
            Kernel::Portable => "portable",
        }
    }
}

/// Name of the kernel a scan with default options runs on this CPU (see [`Kernel::name`]).
pub fn kernel_name() -> &'static str {
    Kernel::detect().name()
}

/// How a scan runs.
#[derive(Clone, Copy)]
pub struct ScanOptions<'a> {
    /// Threads (one horizontal band each); 0 means one per available core.
    pub threads: usize,
    /// The kernel; [`Kernel::detect`] by default. Forcing one the CPU lacks is an error.
    pub kernel: Kernel,
    /// Called from the worker threads with the number of output rows finished so far (across
    /// all bands, so it rises from 1 to `H`, not necessarily in row order).
    pub progress: Option<&'a (dyn Fn(usize) + Sync)>,
}

impl Default for ScanOptions<'_> {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            kernel: Kernel::detect(),
            progress: None,
        }
    }
}

/// The logits of every pixel of an image.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseOutput<T> {
    /// `H * Wd` logit pairs {other, bone}, row-major: `f32`, or `i32` fixed point with
    /// [`crate::int8::LOGIT_FRACTION_BITS`] fraction bits.
    pub logits: Vec<[T; 2]>,
    /// Columns `Wd` (pixels).
    pub width: usize,
    /// Rows `H` (pixels).
    pub height: usize,
    /// The kernel that computed them: the one asked for, except that int8 weights with a
    /// negative requantisation multiplier asked of [`Kernel::Avx512Vnni`] run
    /// [`Kernel::Avx2Fma`] (the VNNI kernel's pooling order needs non-negative ones).
    pub kernel: Kernel,
    /// Bands (threads) the image was cut into.
    pub bands: usize,
}

impl<T: PartialOrd> DenseOutput<T> {
    /// The label of every pixel, row-major (bone where the bone logit is strictly greater).
    pub fn labels(&self) -> impl Iterator<Item = Label> + '_ {
        self.logits.iter().map(Label::from_logits)
    }
}

/// Why a dense scan could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastError {
    /// The image is empty or its pixel slice does not match its size.
    Image(ImageError),
    /// The requested kernel needs CPU features this machine lacks; use [`Kernel::detect`].
    KernelUnavailable(Kernel),
    /// The configuration has a filter wider than 16 taps, which the row buffers do not hold.
    UnsupportedGeometry,
    /// A buffer could not be allocated; fewer threads need less memory.
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// The per-window reference refused its inputs (per-window helpers only).
    Forward(ForwardError),
}

impl core::fmt::Display for FastError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FastError::Image(error) => write!(f, "image refused: {error:?}"),
            FastError::KernelUnavailable(kernel) => write!(
                f,
                "kernel {} needs CPU features this machine lacks; use the detected kernel",
                kernel.name()
            ),
            FastError::UnsupportedGeometry => {
                write!(
                    f,
                    "configuration has a filter wider than 16 taps; use the window path"
                )
            }
            FastError::OutOfMemory { bytes } => {
                write!(f, "could not allocate {bytes} bytes; try fewer threads")
            }
            FastError::Forward(error) => write!(f, "per-window reference refused: {error:?}"),
        }
    }
}

impl std::error::Error for FastError {}

impl From<ImageError> for FastError {
    fn from(error: ImageError) -> Self {
        FastError::Image(error)
    }
}

impl From<ForwardError> for FastError {
    fn from(error: ForwardError) -> Self {
        FastError::Forward(error)
    }
}

/// Bytes of ring buffers one band (thread) of a scan holds for configuration `A` on an image of
/// `width` columns, f32 or int8 alike (int8 stores activations as i16 and sums as i32); the
/// logits and the packed weights come on top. `None` for a configuration the fast path refuses.
pub fn working_bytes<A: Architecture>(width: usize) -> Option<usize> {
    let plan = plan::Plan::new::<A>(1, width)?;
    let (t, c) = plan.ring_elements();
    Some(4 * (t.iter().sum::<usize>() + c.iter().sum::<usize>()))
}

/// Checks the image and the kernel, and derives the plan and the thread count.
fn prepare<A: Architecture>(
    image: &RawImage<'_>,
    options: &ScanOptions<'_>,
) -> Result<(plan::Plan, usize), FastError> {
    RawImage::new(image.pixels, image.width, image.height)?;
    if !options.kernel.is_available() {
        return Err(FastError::KernelUnavailable(options.kernel));
    }
    let plan =
        plan::Plan::new::<A>(image.height, image.width).ok_or(FastError::UnsupportedGeometry)?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    Ok((plan, threads))
}

/// Logits of every pixel of `image` with the f32 network: equal, bit for bit, to
/// [`crate::reference::forward_window`] on the mirrored window around each pixel, scaled by
/// `affine`.
pub fn scan_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    image: &RawImage<'_>,
    affine: &InputAffine,
    options: &ScanOptions<'_>,
) -> Result<DenseOutput<f32>, FastError> {
    let (plan, threads) = prepare::<A>(image, options)?;
    let engine = float::FloatEngine::new(weights, *affine, options.kernel);
    let logits = stream::scan(&engine, &plan, image, threads, options.progress)?;
    Ok(DenseOutput {
        logits,
        width: image.width,
        height: image.height,
        kernel: engine.kernel,
        bands: stream::band_count(plan.height, threads),
    })
}

/// Logits of the listed pixels (`(row, column)`), one window at a time with
/// [`crate::reference::forward_window`]: what the paper's scan costs per pixel, for timing
/// against [`scan_f32`] and for spot checks.
pub fn per_window_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    image: &RawImage<'_>,
    affine: &InputAffine,
    pixels: &[(usize, usize)],
) -> Result<Vec<[f32; 2]>, FastError> {
    RawImage::new(image.pixels, image.width, image.height)?;
    let side = A::WINDOW;
    let mut window = stream::zeroed::<f32>(side * side)?;
    let mut scratch = stream::zeroed::<f32>(crate::reference::scratch_len::<A>())?;
    let mut logits = Vec::with_capacity(pixels.len());
    for &(row, column) in pixels {
        crate::window::cut_window(image, affine, row, column, side, &mut window)?;
        let prediction = crate::reference::forward_window(weights, &window, &mut scratch)?;
        logits.push(prediction.logits);
    }
    Ok(logits)
}

/// Logits of every pixel of `image` with the int8 network (fixed point, see
/// [`crate::int8::LOGIT_FRACTION_BITS`]): equal, bit for bit, to
/// [`crate::int8::forward_window_int8`] on the mirrored window around each pixel, converted by
/// `quant`.
pub fn scan_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    image: &RawImage<'_>,
    quant: &InputQuant,
    options: &ScanOptions<'_>,
) -> Result<DenseOutput<i32>, FastError> {
    let (plan, threads) = prepare::<A>(image, options)?;
    let engine = integer::IntegerEngine::new(weights, *quant, options.kernel);
    let logits = stream::scan(&engine, &plan, image, threads, options.progress)?;
    Ok(DenseOutput {
        logits,
        width: image.width,
        height: image.height,
        kernel: engine.kernel,
        bands: stream::band_count(plan.height, threads),
    })
}

/// Logits of the listed pixels (`(row, column)`), one window at a time with
/// [`crate::int8::forward_window_int8`]; the int8 counterpart of [`per_window_f32`].
pub fn per_window_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    image: &RawImage<'_>,
    quant: &InputQuant,
    pixels: &[(usize, usize)],
) -> Result<Vec<[i32; 2]>, FastError> {
    RawImage::new(image.pixels, image.width, image.height)?;
    let side = A::WINDOW;
    let mut window = stream::zeroed::<i8>(side * side)?;
    let mut scratch = stream::zeroed::<i8>(crate::int8::scratch_len_int8::<A>())?;
    let mut logits = Vec::with_capacity(pixels.len());
    for &(row, column) in pixels {
        if row >= image.height || column >= image.width {
            return Err(FastError::Image(ImageError::OutOfBounds));
        }
        let top = row as isize - (side / 2) as isize;
        let left = column as isize - (side / 2) as isize;
        for (dy, line) in window.chunks_exact_mut(side).enumerate() {
            for (dx, value) in line.iter_mut().enumerate() {
                *value = quant.apply(image.mirrored(top + dy as isize, left + dx as isize));
            }
        }
        let prediction = crate::int8::forward_window_int8(weights, &window, &mut scratch)?;
        logits.push(prediction.logits);
    }
    Ok(logits)
}

/// For the AVX-512 kernels' unit tests: whether this CPU runs [`Kernel::Avx512Vnni`]; if not,
/// says `skipped: ...` on its own line, straight to standard error (the test harness captures
/// `eprintln!`).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn avx512_for_tests() -> bool {
    if Kernel::Avx512Vnni.is_available() {
        return true;
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr().lock(),
        b"\nskipped: no AVX-512 on this CPU\n",
    );
    false
}
