//! The element type of the training arithmetic (`f32` for training, `f64` for the
//! finite-difference gradient checks) and the one matrix product every layer is built on
//! (bar the `f32` forward pass of [`crate::layers::direct`], reached through
//! [`Real::direct_forward`]).
//!
//! Matrix products go through `matrixmultiply` (`sgemm` / `dgemm`), which packs its operands
//! into cache-sized panels and runs an AVX2/FMA micro-kernel chosen at run time. It is called
//! single-threaded: the trainer parallelises over samples instead, so that the sum order, and
//! with it every trained bit, does not depend on the number of threads.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::layers::conv::ConvShape;
use crate::layers::direct::DirectScratch;

/// A float type the layers compute in.
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + Debug
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;

    /// Converts from `f32` (exact for both types).
    fn from_f32(value: f32) -> Self;
    /// Converts from `f64` (rounded to nearest for `f32`).
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` (exact for both types).
    fn to_f64(self) -> f64;
    /// Hyperbolic tangent of every element of `values`, in place.
    fn tanh_in_place(values: &mut [Self]);
    /// `exp(self)`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `y[i] += a * x[i]` over the common length.
    fn axpy(y: &mut [Self], a: Self, x: &[Self]) {
        for (sum, value) in y.iter_mut().zip(x) {
            *sum += a * *value;
        }
    }

    /// The forward convolution by [`crate::layers::direct`] where that handles the type, shape
    /// and CPU (`true`, `output` written); `false` leaves `output` to the im2col path.
    fn direct_forward(
        _shape: &ConvShape,
        _input: &[Self],
        _weights: &[Self],
        _bias: &[Self],
        _output: &mut [Self],
        _scratch: &mut DirectScratch,
    ) -> bool {
        false
    }

    /// `C = A * B + beta * C` through `matrixmultiply`.
    ///
    /// # Safety
    /// Every element that the strides address must lie inside the allocation behind each
    /// pointer, and `c` must not overlap `a` or `b`. [`gemm`] checks this and is the way to call
    /// it.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        dims: (usize, usize, usize),
        a: *const Self,
        a_strides: (isize, isize),
        b: *const Self,
        b_strides: (isize, isize),
        beta: Self,
        c: *mut Self,
        c_strides: (isize, isize),
    );
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;

    #[inline]
    fn from_f32(value: f32) -> f32 {
        value
    }
    #[inline]
    fn from_f64(value: f64) -> f32 {
        value as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn tanh_in_place(values: &mut [f32]) {
        crate::fast_tanh::tanh_in_place(values);
    }
    #[inline]
    fn exp(self) -> f32 {
        f32::exp(self)
    }
    #[inline]
    fn ln(self) -> f32 {
        f32::ln(self)
    }
    fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: both target features were detected on this CPU just above.
            unsafe { axpy_avx2(y, a, x) };
            return;
        }
        for (sum, value) in y.iter_mut().zip(x) {
            *sum += a * *value;
        }
    }

    fn direct_forward(
        shape: &ConvShape,
        input: &[f32],
        weights: &[f32],
        bias: &[f32],
        output: &mut [f32],
        scratch: &mut DirectScratch,
    ) -> bool {
        crate::layers::direct::forward(shape, input, weights, bias, output, scratch)
    }

    unsafe fn gemm_raw(
        (m, k, n): (usize, usize, usize),
        a: *const f32,
        (rsa, csa): (isize, isize),
        b: *const f32,
        (rsb, csb): (isize, isize),
        beta: f32,
        c: *mut f32,
        (rsc, csc): (isize, isize),
    ) {
        // SAFETY: forwarded from the caller's contract (extents inside, no overlap with c).
        unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        }
    }
}

/// `y += a * x` compiled for AVX2 with fused multiply-add (8 lanes), the inner loop of the
/// sparse convolution backward pass.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2(y: &mut [f32], a: f32, x: &[f32]) {
    for (sum, value) in y.iter_mut().zip(x) {
        *sum = a.mul_add(*value, *sum);
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;

    #[inline]
    fn from_f32(value: f32) -> f64 {
        value as f64
    }
    #[inline]
    fn from_f64(value: f64) -> f64 {
        value
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    fn tanh_in_place(values: &mut [f64]) {
        for value in values {
            *value = value.tanh();
        }
    }
    #[inline]
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> f64 {
        f64::ln(self)
    }

    unsafe fn gemm_raw(
        (m, k, n): (usize, usize, usize),
        a: *const f64,
        (rsa, csa): (isize, isize),
        b: *const f64,
        (rsb, csb): (isize, isize),
        beta: f64,
        c: *mut f64,
        (rsc, csc): (isize, isize),
    ) {
        // SAFETY: forwarded from the caller's contract (extents inside, no overlap with c).
        unsafe {
            matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        }
    }
}

/// A read-only strided matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    /// The elements the view reads (more may be present).
    pub data: &'a [T],
    /// Elements between consecutive rows.
    pub row_stride: usize,
    /// Elements between consecutive columns.
    pub col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major view with `cols` columns.
    pub fn row_major(data: &'a [T], cols: usize) -> Self {
        MatRef {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `[rows][cols]` matrix, seen as `[cols][rows]`.
    pub fn transposed(data: &'a [T], cols: usize) -> Self {
        MatRef {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }

    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `C = A * B + beta * C` with `A: [m][k]`, `B: [k][n]` strided views and `C: [m][n]`
/// row-major with `n` columns (`c.len() >= m * n`).
///
/// Panics if a view does not cover its matrix: the callers derive every size from one plan,
/// so a mismatch is a bug in this crate, never a property of the input data.
pub fn gemm<T: Real>(
    (m, k, n): (usize, usize, usize),
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
) {
    assert!(a.covers(m, k), "gemm: A view does not cover [{m}][{k}]");
    assert!(b.covers(k, n), "gemm: B view does not cover [{k}][{n}]");
    assert!(c.len() >= m * n, "gemm: C holds {} < {m} x {n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above keep every addressed element inside its slice; `c` is a
    // unique borrow, so it overlaps neither shared borrow `a` nor `b`.
    unsafe {
        T::gemm_raw(
            (m, k, n),
            a.data.as_ptr(),
            (a.row_stride as isize, a.col_stride as isize),
            b.data.as_ptr(),
            (b.row_stride as isize, b.col_stride as isize),
            beta,
            c.as_mut_ptr(),
            (n as isize, 1),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_product_with_transposed_views() {
        let a: Vec<f64> = (0..6).map(|i| i as f64 - 2.0).collect(); // [2][3]
        let b: Vec<f64> = (0..12).map(|i| (i * i) as f64 * 0.5).collect(); // [4][3] seen as B^T
        let mut c = vec![1.0; 8];
        gemm(
            (2, 3, 4),
            MatRef::row_major(&a, 3),
            MatRef::transposed(&b, 3),
            1.0,
            &mut c,
        );
        for i in 0..2 {
            for j in 0..4 {
                let want: f64 = 1.0 + (0..3).map(|p| a[i * 3 + p] * b[j * 3 + p]).sum::<f64>();
                assert_eq!(c[i * 4 + j], want, "element ({i}, {j})");
            }
        }
    }
}
