//! The streaming engine shared by the f32 and int8 dense scanners: when each dense row can be
//! computed, and the row kernels that compute it with the reference's arithmetic order.
//!
//! Owns no memory: it borrows the two workspace regions described by [`DensePlan`]. Each row
//! of each map is computed once, as soon as every row it reads is known, deepest map first, so
//! a ring row is only overwritten after the last row that reads it has been computed.
//!
//! Row availability (`H` unknown until [`Engine::finish`]): `T_0` row `t` is raw row
//! `mirror(t - W/2, H)`. Before the last raw row, `T_0` rows `0..received + W/2` are known once
//! `W/2 + 1` raw rows have arrived (the top border reads rows `1..=W/2`), and none before; after
//! it, all `H + W - 1` rows are. Every later map follows from the one it reads.

use crate::architecture::{CLASSES, HIDDEN, MAPS, STAGES};
use crate::mirror::mirror;

use super::plan::DensePlan;
use super::{DenseError, OutputRow, check_image};
use crate::window::RawImage;

/// The arithmetic of one precision: element types and the operations of the reference.
pub(crate) trait Precision {
    /// A network weight (`f32` or `i8`).
    type Weight: Copy;
    /// An activation: scaled input or `tanh` output (`f32` or `i8`).
    type Act: Copy + Default;
    /// A convolution sum or logit (`f32` or `i32`).
    type Sum: Copy + Default;

    /// The network input for one raw detector value.
    fn input(&self, raw: u16) -> Self::Act;
    /// Filters of stage `stage`: `[MAPS][C_in][K][K]`.
    fn conv_filters(&self, stage: usize) -> &[Self::Weight];
    /// Bias of map `map` of stage `stage`.
    fn conv_bias(&self, stage: usize, map: usize) -> Self::Sum;
    /// Hidden weights `[HIDDEN][MAPS][S][S]`.
    fn hidden_weights(&self) -> &[Self::Weight];
    /// Bias of hidden unit `unit`.
    fn hidden_bias(&self, unit: usize) -> Self::Sum;
    /// Output weights `[CLASSES][HIDDEN]`.
    fn output_weights(&self) -> &[Self::Weight];
    /// Bias of logit `class`.
    fn output_bias(&self, class: usize) -> Self::Sum;
    /// `sums[j] += weight * inputs[j]` for every `j`, each a single step of the reference's
    /// accumulation (an fma on the float path).
    fn mac_row(sums: &mut [Self::Sum], weight: Self::Weight, inputs: &[Self::Act]);
    /// One step of the logits' accumulation: `sum + weight * hidden`.
    fn mac(sum: Self::Sum, weight: Self::Weight, hidden: Self::Act) -> Self::Sum;
    /// The running maximum of max pooling (the candidate replaces `current` only if greater).
    fn pool(current: Self::Sum, candidate: Self::Sum) -> Self::Sum;
    /// Activation of a pooled sum of map `map` of stage `stage`.
    fn conv_activation(&self, stage: usize, map: usize, pooled: Self::Sum) -> Self::Act;
    /// Activation of hidden unit `unit`.
    fn hidden_activation(&self, unit: usize, sum: Self::Sum) -> Self::Act;
    /// The logit of class `class` from its finished sum.
    fn logit(&self, class: usize, sum: Self::Sum) -> Self::Sum;
}

/// Stream position and the borrowed workspace of one dense scan.
pub(crate) struct Engine<'a, P: Precision> {
    precision: P,
    plan: DensePlan,
    dilations: [usize; STAGES + 1],
    kernels: [usize; STAGES],
    pools: [usize; STAGES],
    last_side: usize,
    activations: &'a mut [P::Act],
    sums: &'a mut [P::Sum],
    /// Raw rows pushed so far.
    received: usize,
    /// The image height, once the last row has been pushed.
    height: Option<usize>,
    /// Rows of each `C_l` computed.
    convs_done: [usize; STAGES],
    /// Rows of each `T_l` computed (index 0 unused: `T_0` rows are raw rows).
    maps_done: [usize; STAGES + 1],
    /// Output rows emitted.
    rows_out: usize,
}

/// The architecture numbers the engine needs, copied out of the geometry.
pub(crate) struct Shape {
    pub(crate) dilations: [usize; STAGES + 1],
    pub(crate) kernels: [usize; STAGES],
    pub(crate) pools: [usize; STAGES],
    pub(crate) last_side: usize,
}

impl<'a, P: Precision> Engine<'a, P> {
    /// Checks the workspace regions against `plan` and starts an empty stream.
    pub(crate) fn new(
        precision: P,
        plan: DensePlan,
        shape: Shape,
        activations: &'a mut [P::Act],
        sums: &'a mut [P::Sum],
    ) -> Result<Self, DenseError> {
        if plan.width == 0 {
            return Err(DenseError::Empty);
        }
        if activations.len() < plan.activations_len {
            return Err(DenseError::WorkspaceTooSmall {
                needed: plan.activations_len,
                found: activations.len(),
            });
        }
        if sums.len() < plan.sums_len {
            return Err(DenseError::SumsTooSmall {
                needed: plan.sums_len,
                found: sums.len(),
            });
        }
        Ok(Engine {
            precision,
            plan,
            dilations: shape.dilations,
            kernels: shape.kernels,
            pools: shape.pools,
            last_side: shape.last_side,
            activations,
            sums,
            received: 0,
            height: None,
            convs_done: [0; STAGES],
            maps_done: [0; STAGES + 1],
            rows_out: 0,
        })
    }

    /// Raw rows pushed so far.
    pub(crate) fn rows_in(&self) -> usize {
        self.received
    }

    /// Output rows emitted so far.
    pub(crate) fn rows_out(&self) -> usize {
        self.rows_out
    }

    /// Takes the next raw row and emits every output row it completes.
    pub(crate) fn push_row(
        &mut self,
        raw: &[u16],
        emit: &mut impl FnMut(OutputRow<'_, P::Sum>),
    ) -> Result<(), DenseError> {
        if self.height.is_some() {
            return Err(DenseError::Finished);
        }
        if raw.len() != self.plan.width {
            return Err(DenseError::RowLength {
                expected: self.plan.width,
                found: raw.len(),
            });
        }
        self.store_raw_row(raw);
        self.received += 1;
        self.advance(emit);
        Ok(())
    }

    /// Declares the last row pushed the bottom of the image and emits the remaining rows.
    /// Returns the image height.
    pub(crate) fn finish(
        &mut self,
        emit: &mut impl FnMut(OutputRow<'_, P::Sum>),
    ) -> Result<usize, DenseError> {
        if self.height.is_some() {
            return Err(DenseError::Finished);
        }
        if self.received == 0 {
            return Err(DenseError::Empty);
        }
        self.height = Some(self.received);
        self.advance(emit);
        Ok(self.received)
    }

    /// Pushes every row of a whole image, then its end, copying each output row to its place in
    /// `out` (`H * Wd` logit pairs, checked first).
    pub(crate) fn scan_whole(
        &mut self,
        image: &RawImage<'_>,
        out: &mut [[P::Sum; CLASSES]],
    ) -> Result<(), DenseError> {
        check_image(image, out.len())?;
        let width = image.width;
        let mut sink = |row: OutputRow<'_, P::Sum>| {
            let start = row.row * width;
            if let Some(target) = out.get_mut(start..start + row.logits.len()) {
                target.copy_from_slice(row.logits);
            }
        };
        for raw in image.pixels.chunks_exact(width) {
            self.push_row(raw, &mut sink)?;
        }
        self.finish(&mut sink)?;
        Ok(())
    }

    /// Writes raw row `received` into its `T_0` ring row, scaled and mirror-padded by `W/2`
    /// columns on each side (`Wd + W - 1` values).
    fn store_raw_row(&mut self, raw: &[u16]) {
        let plan = &self.plan;
        let len = plan.map_widths[0];
        let start = plan.map_offsets[0] + (self.received % plan.map_rows[0]) * len;
        let row = &mut self.activations[start..start + len];
        let (left, rest) = row.split_at_mut(plan.half);
        let (inside, right) = rest.split_at_mut(plan.width);
        for (value, pixel) in inside.iter_mut().zip(raw) {
            *value = self.precision.input(*pixel);
        }
        // Border columns copy the in-image value they mirror: the same bits as scaling again.
        for (column, value) in left.iter_mut().enumerate() {
            *value = inside[mirror(column as isize - plan.half as isize, plan.width)];
        }
        for (column, value) in right.iter_mut().enumerate() {
            *value = inside[mirror((plan.width + column) as isize, plan.width)];
        }
    }

    /// `T_0` rows known so far.
    fn input_rows_known(&self) -> usize {
        let half = self.plan.half;
        match self.height {
            Some(height) => height + self.plan.extents[0] - 1,
            None if self.received > half => self.received + half,
            None => 0,
        }
    }

    /// The raw row that `T_0` row `row` reads.
    fn raw_row_of(&self, row: usize) -> usize {
        let offset = row as isize - self.plan.half as isize;
        match self.height {
            Some(height) => mirror(offset, height),
            // Before the bottom is known only rows inside the image or mirrored across the
            // top edge are read, and the image has more rows than either reaches.
            None => offset.unsigned_abs(),
        }
    }

    /// Computes every row that can be computed, deepest map first, emitting output rows.
    fn advance(&mut self, emit: &mut impl FnMut(OutputRow<'_, P::Sum>)) {
        'progress: loop {
            let reach = self.dilations[STAGES] * (self.last_side - 1);
            if self.rows_out + reach < self.maps_done[STAGES] {
                self.output_row(emit);
                continue;
            }
            for stage in (0..STAGES).rev() {
                let (d, kernel, pool) = (
                    self.dilations[stage],
                    self.kernels[stage],
                    self.pools[stage],
                );
                if self.maps_done[stage + 1] + d * (pool - 1) < self.convs_done[stage] {
                    self.pool_row(stage);
                    continue 'progress;
                }
                let known = if stage == 0 {
                    self.input_rows_known()
                } else {
                    self.maps_done[stage]
                };
                if self.convs_done[stage] + d * (kernel - 1) < known {
                    self.conv_row(stage);
                    continue 'progress;
                }
            }
            break;
        }
    }

    /// Start of row `row`, channel `channel` of the `T_stage` ring (activation region).
    fn map_row_start(&self, stage: usize, row: usize, channel: usize) -> usize {
        let plan = &self.plan;
        let (width, ring) = (plan.map_widths[stage], plan.map_rows[stage]);
        let channels = if stage == 0 { 1 } else { MAPS };
        let ring_row = if stage == 0 {
            self.raw_row_of(row) % ring
        } else {
            row % ring
        };
        plan.map_offsets[stage] + (ring_row * channels + channel) * width
    }

    /// Start of row `row`, map `map` of the `C_stage` ring (sum region).
    fn conv_row_start(&self, stage: usize, row: usize, map: usize) -> usize {
        let plan = &self.plan;
        let ring_row = row % plan.conv_rows[stage];
        plan.conv_offsets[stage] + (ring_row * MAPS + map) * plan.conv_widths[stage]
    }

    /// `C_stage` row `convs_done[stage]`: for every map, bias then the fma chain over input
    /// channel, filter row, filter column, vectorised across the row's columns.
    fn conv_row(&mut self, stage: usize) {
        let row = self.convs_done[stage];
        let (d, kernel) = (self.dilations[stage], self.kernels[stage]);
        let channels_in = if stage == 0 { 1 } else { MAPS };
        let width = self.plan.conv_widths[stage];
        let filter_len = channels_in * kernel * kernel;

        for map in 0..MAPS {
            let out = self.conv_row_start(stage, row, map);
            let bias = self.precision.conv_bias(stage, map);
            self.sums[out..out + width].fill(bias);
            for channel in 0..channels_in {
                for ky in 0..kernel {
                    let input = self.map_row_start(stage, row + d * ky, channel);
                    let taps = (map * filter_len + (channel * kernel + ky) * kernel)..;
                    let filter = &self.precision.conv_filters(stage)[taps][..kernel];
                    for (kx, weight) in filter.iter().enumerate() {
                        let inputs = &self.activations[input + d * kx..][..width];
                        P::mac_row(&mut self.sums[out..out + width], *weight, inputs);
                    }
                }
            }
        }
        self.convs_done[stage] += 1;
    }

    /// `T_{stage+1}` row `maps_done[stage + 1]`: the `P x P` maximum at dilation `d` visited
    /// row by row from the top-left, then the activation.
    fn pool_row(&mut self, stage: usize) {
        let row = self.maps_done[stage + 1];
        let (d, pool) = (self.dilations[stage], self.pools[stage]);
        let width = self.plan.map_widths[stage + 1];

        for map in 0..MAPS {
            let out = self.map_row_start(stage + 1, row, map);
            for column in 0..width {
                let first = self.conv_row_start(stage, row, map) + column;
                let mut best = self.sums[first];
                for dy in 0..pool {
                    let line = self.conv_row_start(stage, row + d * dy, map) + column;
                    let start = if dy == 0 { 1 } else { 0 };
                    for dx in start..pool {
                        best = P::pool(best, self.sums[line + d * dx]);
                    }
                }
                self.activations[out + column] = self.precision.conv_activation(stage, map, best);
            }
        }
        self.maps_done[stage + 1] += 1;
    }

    /// Output row `rows_out`: each hidden unit over `T_3` (channel, row, column order), its
    /// activation, and its term of both logits, then the caller gets the row.
    fn output_row(&mut self, emit: &mut impl FnMut(OutputRow<'_, P::Sum>)) {
        let row = self.rows_out;
        let (d, side) = (self.dilations[STAGES], self.last_side);
        let width = self.plan.width;
        let (hidden_at, logits_at) = (self.plan.hidden_offset, self.plan.logits_offset);
        let inputs_per_unit = MAPS * side * side;

        for class in 0..CLASSES {
            let bias = self.precision.output_bias(class);
            for pixel in 0..width {
                self.sums[logits_at + pixel * CLASSES + class] = bias;
            }
        }
        for unit in 0..HIDDEN {
            let bias = self.precision.hidden_bias(unit);
            self.sums[hidden_at..hidden_at + width].fill(bias);
            for channel in 0..MAPS {
                for y in 0..side {
                    let input = self.map_row_start(STAGES, row + d * y, channel);
                    let taps = unit * inputs_per_unit + (channel * side + y) * side;
                    let weights = &self.precision.hidden_weights()[taps..][..side];
                    for (x, weight) in weights.iter().enumerate() {
                        let inputs = &self.activations[input + d * x..][..width];
                        P::mac_row(
                            &mut self.sums[hidden_at..hidden_at + width],
                            *weight,
                            inputs,
                        );
                    }
                }
            }
            for pixel in 0..width {
                let hidden = self
                    .precision
                    .hidden_activation(unit, self.sums[hidden_at + pixel]);
                for class in 0..CLASSES {
                    let weight = self.precision.output_weights()[class * HIDDEN + unit];
                    let at = logits_at + pixel * CLASSES + class;
                    self.sums[at] = P::mac(self.sums[at], weight, hidden);
                }
            }
        }
        for class in 0..CLASSES {
            for pixel in 0..width {
                let at = logits_at + pixel * CLASSES + class;
                self.sums[at] = self.precision.logit(class, self.sums[at]);
            }
        }

        let logits = &self.sums[logits_at..logits_at + width * CLASSES];
        let (pairs, _) = logits.as_chunks::<CLASSES>();
        emit(OutputRow { row, logits: pairs });
        self.rows_out += 1;
    }
}
