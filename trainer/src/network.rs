//! The whole network as a chain of layers over one input map, in either form:
//!
//! - **window** (the method's): one `W x W` window in, stride-`P` pooling, one pair of logits
//!   out;
//! - **dense** (fragment / dilated form): an `(h + W - 1) x (w + W - 1)` input in, every
//!   stage's convolution and pooling taps `d_l` apart (`d = [1, P0, P0 P1, P0 P1 P2]`, the
//!   geometry's dilations), stride 1, and an `h x w` map of logit pairs out, one per labelled
//!   pixel. Output `(y, x)` sees exactly input rows `y .. y + W` and columns `x .. x + W`, so it
//!   equals the window form on that window up to f32 summation order.
//!
//! Parameters arrive in `bonemask_core`'s flat [`Layout`] (`[C_out][C_in][K][K]` per layer)
//! and are packed into the matrix-product order of [`crate::layers::conv`]
//! (`[K][K][C_in][C_out]`) once per batch; gradients are unpacked the same way. The hidden
//! layer is a `S x S` convolution with 100 outputs and the output layer a `1 x 1` convolution
//! with 2, so five convolutions cover every parameter.

use bonemask_core::architecture::{CLASSES, Geometry, HIDDEN, Layout, MAPS, STAGES};

use crate::layers::activation::{tanh_backward, tanh_forward};
use crate::layers::conv::{self, ConvGrads, ConvScratch, ConvShape};
use crate::layers::loss::{LossSum, softmax_cross_entropy};
use crate::layers::pool::{self, PoolScratch, PoolShape};
use crate::real::Real;

/// Number of parameterised layers: three convolution stages, hidden, output.
pub const LAYERS: usize = STAGES + 2;

/// How a sample is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// One window, one labelled pixel (its centre, at offset `W / 2`).
    Window,
    /// A patch of labelled pixels sharing their work.
    Dense,
}

/// Every layer's sizes for one input size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// How the sample is evaluated.
    pub form: Form,
    /// The configuration table.
    pub geometry: Geometry,
    /// Convolution of each stage.
    pub convs: [ConvShape; STAGES],
    /// Pooling of each stage.
    pub pools: [PoolShape; STAGES],
    /// The hidden layer as an `S x S` convolution to 100 maps.
    pub hidden: ConvShape,
    /// The output layer as a `1 x 1` convolution to 2 maps.
    pub output: ConvShape,
}

impl Plan {
    /// The per-window plan: a `W x W` input, one logit pair out.
    pub fn window(geometry: &Geometry) -> Plan {
        Plan::build(geometry, Form::Window, geometry.window, geometry.window)
    }

    /// The dense plan for an `out_h x out_w` patch of labelled pixels (input
    /// `(out_h + W - 1) x (out_w + W - 1)`). Both sides must be at least 1.
    pub fn dense(geometry: &Geometry, out_h: usize, out_w: usize) -> Plan {
        let extra = geometry.window - 1;
        Plan::build(geometry, Form::Dense, out_h + extra, out_w + extra)
    }

    fn build(geometry: &Geometry, form: Form, in_h: usize, in_w: usize) -> Plan {
        let dilation = |stage: usize| match form {
            Form::Window => 1,
            Form::Dense => geometry.dilations[stage],
        };
        let (mut h, mut w, mut c_in) = (in_h, in_w, 1);
        let mut convs = [None; STAGES];
        let mut pools = [None; STAGES];
        for stage in 0..STAGES {
            let conv = ConvShape {
                in_h: h,
                in_w: w,
                c_in,
                kernel: geometry.kernels[stage],
                dilation: dilation(stage),
                c_out: MAPS,
            };
            let pool = PoolShape {
                in_h: conv.out_h(),
                in_w: conv.out_w(),
                channels: MAPS,
                pool: geometry.pools[stage],
                dilation: dilation(stage),
                stride: match form {
                    Form::Window => geometry.pools[stage],
                    Form::Dense => 1,
                },
            };
            (h, w, c_in) = (pool.out_h(), pool.out_w(), MAPS);
            convs[stage] = Some(conv);
            pools[stage] = Some(pool);
        }
        let hidden = ConvShape {
            in_h: h,
            in_w: w,
            c_in: MAPS,
            kernel: geometry.last_side(),
            dilation: dilation(STAGES),
            c_out: HIDDEN,
        };
        let output = ConvShape {
            in_h: hidden.out_h(),
            in_w: hidden.out_w(),
            c_in: HIDDEN,
            kernel: 1,
            dilation: 1,
            c_out: CLASSES,
        };
        Plan {
            form,
            geometry: *geometry,
            convs: convs.map(|conv| conv.unwrap_or(EMPTY_CONV)),
            pools: pools.map(|pool| pool.unwrap_or(EMPTY_POOL)),
            hidden,
            output,
        }
    }

    /// The five parameterised layers in [`Layout`] order.
    pub fn layers(&self) -> [ConvShape; LAYERS] {
        [
            self.convs[0],
            self.convs[1],
            self.convs[2],
            self.hidden,
            self.output,
        ]
    }

    /// Input rows.
    pub fn in_h(&self) -> usize {
        self.convs[0].in_h
    }

    /// Input columns.
    pub fn in_w(&self) -> usize {
        self.convs[0].in_w
    }

    /// Rows of logit pairs out.
    pub fn out_h(&self) -> usize {
        self.output.out_h()
    }

    /// Columns of logit pairs out.
    pub fn out_w(&self) -> usize {
        self.output.out_w()
    }

    /// Multiply-adds of one forward pass.
    pub fn forward_macs(&self) -> usize {
        self.layers().iter().map(ConvShape::macs).sum()
    }
}

const EMPTY_CONV: ConvShape = ConvShape {
    in_h: 0,
    in_w: 0,
    c_in: 0,
    kernel: 1,
    dilation: 1,
    c_out: 0,
};

const EMPTY_POOL: PoolShape = PoolShape {
    in_h: 0,
    in_w: 0,
    channels: 0,
    pool: 1,
    dilation: 1,
    stride: 1,
};

/// (weights start, biases start) of each layer in the flat parameter array.
fn offsets(layout: &Layout) -> [(usize, usize); LAYERS] {
    [
        (layout.conv_weights[0], layout.conv_biases[0]),
        (layout.conv_weights[1], layout.conv_biases[1]),
        (layout.conv_weights[2], layout.conv_biases[2]),
        (layout.hidden_weights, layout.hidden_biases),
        (layout.output_weights, layout.output_biases),
    ]
}

/// Index in the packed `[K][K][C_in][C_out]` order of flat element `[co][ci][ky][kx]`.
fn packed_index(shape: &ConvShape, flat: usize) -> usize {
    let k2 = shape.kernel * shape.kernel;
    let (co, rest) = (flat / (shape.c_in * k2), flat % (shape.c_in * k2));
    let (ci, tap) = (rest / k2, rest % k2);
    (tap * shape.c_in + ci) * shape.c_out + co
}

/// Parameters (or their gradients) in matrix-product order, one weight and bias block per
/// layer.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedParams<T> {
    /// `[K][K][C_in][C_out]` weights of each layer.
    pub weights: [Vec<T>; LAYERS],
    /// `[C_out]` biases of each layer.
    pub biases: [Vec<T>; LAYERS],
}

impl<T: Real> PackedParams<T> {
    /// All zero, sized for `plan`'s layers.
    pub fn zeros(plan: &Plan) -> Self {
        let layers = plan.layers();
        PackedParams {
            weights: layers.map(|shape| vec![T::ZERO; shape.weights_len()]),
            biases: layers.map(|shape| vec![T::ZERO; shape.c_out]),
        }
    }

    /// Packs the flat parameter array (`Layout` order, `layout.params` elements).
    pub fn pack(plan: &Plan, flat: &[T]) -> Self {
        let mut packed = Self::zeros(plan);
        let layers = plan.layers();
        for (layer, (weights_at, biases_at)) in offsets(&plan.geometry.layout).iter().enumerate() {
            let shape = &layers[layer];
            let source = &flat[*weights_at..*weights_at + shape.weights_len()];
            for (index, value) in source.iter().enumerate() {
                packed.weights[layer][packed_index(shape, index)] = *value;
            }
            packed.biases[layer].copy_from_slice(&flat[*biases_at..*biases_at + shape.c_out]);
        }
        packed
    }

    /// Adds these (gradient) values into a flat array in `Layout` order.
    pub fn unpack_add(&self, plan: &Plan, flat: &mut [T]) {
        let layers = plan.layers();
        for (layer, (weights_at, biases_at)) in offsets(&plan.geometry.layout).iter().enumerate() {
            let shape = &layers[layer];
            let target = &mut flat[*weights_at..*weights_at + shape.weights_len()];
            for (index, value) in target.iter_mut().enumerate() {
                *value += self.weights[layer][packed_index(shape, index)];
            }
            let target = &mut flat[*biases_at..*biases_at + shape.c_out];
            for (sum, value) in target.iter_mut().zip(&self.biases[layer]) {
                *sum += *value;
            }
        }
    }

    /// Sets every element to zero, keeping the allocations.
    pub fn clear(&mut self) {
        for block in self.weights.iter_mut().chain(self.biases.iter_mut()) {
            block.fill(T::ZERO);
        }
    }
}

/// One worker's activations and gradient buffers, reused across samples of any plan.
#[derive(Debug, Default)]
pub struct Workspace<T> {
    /// Convolution output of each stage, `[H][W][MAPS]`.
    conv_out: [Vec<T>; STAGES],
    /// `tanh` of the pooled maps of each stage, `[H][W][MAPS]`.
    pooled: [Vec<T>; STAGES],
    /// Argmax (index into `conv_out`) of every pooled element.
    argmax: [Vec<u32>; STAGES],
    /// Hidden activations after `tanh`, `[h][w][HIDDEN]`.
    hidden: Vec<T>,
    /// Logits, `[h][w][2]`.
    logits: Vec<T>,
    d_logits: Vec<T>,
    d_hidden: Vec<T>,
    d_map: Vec<T>,
    d_map_next: Vec<T>,
    d_conv: Vec<T>,
    scratch: ConvScratch<T>,
    pool_scratch: PoolScratch<T>,
}

fn fit<T: Copy>(buffer: &mut Vec<T>, len: usize, zero: T) {
    buffer.clear();
    buffer.resize(len, zero);
}

/// Evaluates the network; returns the logits `[out_h][out_w][2]`.
///
/// `input`: `[in_h][in_w]` scaled network inputs, row-major (one channel).
pub fn forward<'w, T: Real>(
    plan: &Plan,
    params: &PackedParams<T>,
    input: &[T],
    work: &'w mut Workspace<T>,
) -> &'w [T] {
    for stage in 0..STAGES {
        let (conv_shape, pool_shape) = (&plan.convs[stage], &plan.pools[stage]);
        fit(&mut work.conv_out[stage], conv_shape.output_len(), T::ZERO);
        let stage_input = if stage == 0 {
            input
        } else {
            &work.pooled[stage - 1]
        };
        conv::forward(
            conv_shape,
            stage_input,
            &params.weights[stage],
            &params.biases[stage],
            &mut work.conv_out[stage],
            &mut work.scratch,
        );
        fit(&mut work.pooled[stage], pool_shape.output_len(), T::ZERO);
        fit(&mut work.argmax[stage], pool_shape.output_len(), 0);
        pool::forward(
            pool_shape,
            &work.conv_out[stage],
            &mut work.pooled[stage],
            &mut work.argmax[stage],
            &mut work.pool_scratch,
        );
        tanh_forward(&mut work.pooled[stage]);
    }

    fit(&mut work.hidden, plan.hidden.output_len(), T::ZERO);
    conv::forward(
        &plan.hidden,
        &work.pooled[STAGES - 1],
        &params.weights[STAGES],
        &params.biases[STAGES],
        &mut work.hidden,
        &mut work.scratch,
    );
    tanh_forward(&mut work.hidden);

    fit(&mut work.logits, plan.output.output_len(), T::ZERO);
    conv::forward(
        &plan.output,
        &work.hidden,
        &params.weights[STAGES + 1],
        &params.biases[STAGES + 1],
        &mut work.logits,
        &mut work.scratch,
    );
    &work.logits
}

/// Forward pass, loss and backward pass of one sample.
///
/// `labels`: `[out_h][out_w]` (0 other, 1 bone, [`crate::layers::loss::UNLABELLED`]
/// ignored). `scale` multiplies every logit gradient (`1 / labelled pixels in the batch` for a
/// mean loss). Parameter gradients are added into `grads`.
pub fn sample_gradient<T: Real>(
    plan: &Plan,
    params: &PackedParams<T>,
    input: &[T],
    labels: &[u8],
    scale: T,
    work: &mut Workspace<T>,
    grads: &mut PackedParams<T>,
) -> LossSum {
    forward(plan, params, input, work);
    fit(&mut work.d_logits, work.logits.len(), T::ZERO);
    let sum = softmax_cross_entropy(&work.logits, labels, scale, &mut work.d_logits);
    backward(plan, params, input, work, grads);
    sum
}

/// Backward pass from `work.d_logits` (the forward pass must have run on the same input).
fn backward<T: Real>(
    plan: &Plan,
    params: &PackedParams<T>,
    input: &[T],
    work: &mut Workspace<T>,
    grads: &mut PackedParams<T>,
) {
    let [g0, g1, g2, g_hidden, g_output] = &mut grads.weights;
    let [b0, b1, b2, b_hidden, b_output] = &mut grads.biases;
    let mut stage_grads = [(g0, b0), (g1, b1), (g2, b2)];

    // Output layer, then the hidden layer's tanh.
    fit(&mut work.d_hidden, work.hidden.len(), T::ZERO);
    let output_grads = ConvGrads {
        weights: g_output,
        bias: b_output,
        input: Some(&mut work.d_hidden),
    };
    conv::backward(
        &plan.output,
        &work.hidden,
        &params.weights[STAGES + 1],
        &work.d_logits,
        output_grads,
        &mut work.scratch,
    );
    tanh_backward(&work.hidden, &mut work.d_hidden);

    // Hidden layer.
    fit(&mut work.d_map, work.pooled[STAGES - 1].len(), T::ZERO);
    let hidden_grads = ConvGrads {
        weights: g_hidden,
        bias: b_hidden,
        input: Some(&mut work.d_map),
    };
    conv::backward(
        &plan.hidden,
        &work.pooled[STAGES - 1],
        &params.weights[STAGES],
        &work.d_hidden,
        hidden_grads,
        &mut work.scratch,
    );

    // Stages, last to first: tanh, pooling, convolution.
    for stage in (0..STAGES).rev() {
        tanh_backward(&work.pooled[stage], &mut work.d_map);
        fit(&mut work.d_conv, work.conv_out[stage].len(), T::ZERO);
        pool::backward(&work.d_map, &work.argmax[stage], &mut work.d_conv);

        let (weights, bias) = &mut stage_grads[stage];
        let (stage_input, d_input) = if stage == 0 {
            (input, None)
        } else {
            fit(&mut work.d_map_next, work.pooled[stage - 1].len(), T::ZERO);
            (&work.pooled[stage - 1][..], Some(&mut work.d_map_next[..]))
        };
        let grads = ConvGrads {
            weights,
            bias,
            input: d_input,
        };
        conv::backward(
            &plan.convs[stage],
            stage_input,
            &params.weights[stage],
            &work.d_conv,
            grads,
            &mut work.scratch,
        );
        core::mem::swap(&mut work.d_map, &mut work.d_map_next);
    }
}
