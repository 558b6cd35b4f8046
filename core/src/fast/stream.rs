//! The band driver shared by the f32 and int8 paths: rows flow from the image through ring
//! buffers of every stage to the output, each row computed once per band.
//!
//! The image's output rows are cut into one band per thread. A band pulls rows on demand: an
//! output row asks for the `T_3` rows it reads, each of those for the `C_2` rows it pools, and
//! so on down to `T_0`, filled from the image. Rings keep only the rows still to be read, so a
//! band's memory is [`Plan::ring_elements`] whatever the image height. Neighbouring bands
//! recompute the rows they share (the receptive field's margin, `W - 1` rows at `T_0` and
//! fewer later): about 4% of the work for two bands of a 2492-row image in configuration 4.
//!
//! What a precision does to a row lives in an [`Engine`]; this file only orders the rows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec::Vec;

use super::FastError;
use super::plan::{LAYERS, MAX_TAPS, Plan};
use crate::architecture::STAGES;
use crate::mirror::mirror;
use crate::window::RawImage;

/// The row operations of one precision and one kernel. Row slots are laid out as the engine
/// likes within [`Plan::t_row_len`] and [`Plan::c_row_len`] elements.
pub(crate) trait Engine: Sync {
    /// Element of a `T` map (an activation).
    type Act: Copy + Default + Send;
    /// Element of a `C` map (a convolution sum before pooling).
    type Acc: Copy + Default + Send;
    /// Element of a logit.
    type Logit: Copy + Default + Send;

    /// Fills `T_0` row `out` (`[1][t_pitch[0]]`) from one image row; `columns[j]` is the image
    /// column that dense column `j` reads.
    fn input_row(&self, raw: &[u16], columns: &[usize], out: &mut [Self::Act]);

    /// Computes `C_l` row `out` (`[MAPS][out_pitch[l]]`) from the `K` `T_l` rows it reads,
    /// `rows[ky]` holding dense row `r + ky * d_l`.
    fn conv_row(&self, plan: &Plan, stage: usize, rows: &[&[Self::Act]], out: &mut [Self::Acc]);

    /// Pools the `C_l` rows `rows[dy]` (dense row `i + dy * d_l`) and applies the activation,
    /// writing `T_{l+1}` row `out`.
    fn pool_row(&self, plan: &Plan, stage: usize, rows: &[&[Self::Acc]], out: &mut [Self::Act]);

    /// Computes one output row (`Wd` logit pairs) from the `S` `T_3` rows it reads.
    fn hidden_row(&self, plan: &Plan, rows: &[&[Self::Act]], out: &mut [[Self::Logit; 2]]);
}

/// Runs `engine` over the whole image, one band per thread, and returns the logits of every
/// pixel (`H * Wd` pairs, row-major).
pub(crate) fn scan<E: Engine>(
    engine: &E,
    plan: &Plan,
    image: &RawImage<'_>,
    threads: usize,
    progress: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<Vec<[E::Logit; 2]>, FastError> {
    let bands = band_count(plan.height, threads);
    let band_rows = plan.height.div_ceil(bands);
    let mut logits = zeroed::<[E::Logit; 2]>(plan.height * plan.width)?;
    let columns: Vec<usize> = (0..plan.t_width[0])
        .map(|j| mirror(j as isize - (plan.window / 2) as isize, plan.width))
        .collect();
    let done = AtomicUsize::new(0);
    let shared = Shared {
        plan,
        image,
        columns: &columns,
        done: &done,
        progress,
    };

    let mut rings = Vec::new();
    for _ in 0..bands {
        rings.push(Rings::<E>::new(plan)?);
    }
    std::thread::scope(|scope| {
        let chunks = logits.chunks_mut(band_rows * plan.width);
        let mut handles = Vec::new();
        for (index, (chunk, ring)) in chunks.zip(rings.iter_mut()).enumerate() {
            let shared = &shared;
            let first = index * band_rows;
            let mut job = move || ring.run_band(engine, shared, first, chunk);
            if index + 1 == bands {
                job();
            } else {
                handles.push(scope.spawn(job));
            }
        }
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    Ok(logits)
}

/// Bands an image of `height` rows is cut into for `threads` threads: as many as threads, but
/// none empty.
pub(crate) fn band_count(height: usize, threads: usize) -> usize {
    let band_rows = height.div_ceil(threads.clamp(1, height.max(1)));
    height.div_ceil(band_rows.max(1))
}

/// A vector of `len` default values, or [`FastError::OutOfMemory`].
pub(crate) fn zeroed<T: Copy + Default>(len: usize) -> Result<Vec<T>, FastError> {
    let mut vector = Vec::new();
    let bytes = len.saturating_mul(core::mem::size_of::<T>());
    vector
        .try_reserve_exact(len)
        .map_err(|_| FastError::OutOfMemory { bytes })?;
    vector.resize(len, T::default());
    Ok(vector)
}

/// What every band reads.
struct Shared<'a> {
    plan: &'a Plan,
    image: &'a RawImage<'a>,
    columns: &'a [usize],
    done: &'a AtomicUsize,
    progress: Option<&'a (dyn Fn(usize) + Sync)>,
}

/// One band's ring buffers and how far each has been filled.
struct Rings<E: Engine> {
    /// `T_l` rows; dense row `i` lives in slot `i % t_ring[l]`.
    t: [Vec<E::Act>; LAYERS],
    /// `C_l` rows; dense row `r` lives in slot `r % c_ring[l]`.
    c: [Vec<E::Acc>; STAGES],
    /// The next dense row of each `T_l` to compute.
    t_next: [usize; LAYERS],
    /// The next dense row of each `C_l` to compute.
    c_next: [usize; STAGES],
}

impl<E: Engine> Rings<E> {
    fn new(plan: &Plan) -> Result<Self, FastError> {
        let (t_len, c_len) = plan.ring_elements();
        Ok(Rings {
            t: [
                zeroed(t_len[0])?,
                zeroed(t_len[1])?,
                zeroed(t_len[2])?,
                zeroed(t_len[3])?,
            ],
            c: [zeroed(c_len[0])?, zeroed(c_len[1])?, zeroed(c_len[2])?],
            t_next: [0; LAYERS],
            c_next: [0; STAGES],
        })
    }

    /// Computes output rows `first ..` into `out` (whole rows of `Wd` pairs).
    fn run_band(
        &mut self,
        engine: &E,
        shared: &Shared<'_>,
        first: usize,
        out: &mut [[E::Logit; 2]],
    ) {
        let plan = shared.plan;
        self.t_next = [first; LAYERS];
        self.c_next = [first; STAGES];
        let (side, dilation) = (plan.kernels[STAGES], plan.dilations[STAGES]);
        for (offset, row) in out.chunks_mut(plan.width).enumerate() {
            let y = first + offset;
            self.ensure_t(engine, shared, STAGES, y + plan.margins[STAGES]);
            let row_len = plan.t_row_len(STAGES);
            let rows = slots(
                &self.t[STAGES],
                row_len,
                plan.t_ring[STAGES],
                y,
                dilation,
                side,
            );
            engine.hidden_row(plan, &rows[..side], row);

            let done = shared.done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(progress) = shared.progress {
                progress(done);
            }
        }
    }

    /// Makes sure `T_layer` holds dense row `last` (and every row before it still needed).
    fn ensure_t(&mut self, engine: &E, shared: &Shared<'_>, layer: usize, last: usize) {
        let plan = shared.plan;
        while self.t_next[layer] <= last {
            let i = self.t_next[layer];
            let row_len = plan.t_row_len(layer);
            if layer == 0 {
                let raw_row = mirror(i as isize - (plan.window / 2) as isize, plan.height);
                let raw = &shared.image.pixels[raw_row * plan.width..][..plan.width];
                let slot = (i % plan.t_ring[0]) * row_len;
                engine.input_row(raw, shared.columns, &mut self.t[0][slot..][..row_len]);
            } else {
                let stage = layer - 1;
                let (pool, dilation) = (plan.pools[stage], plan.dilations[stage]);
                self.ensure_c(engine, shared, stage, i + (pool - 1) * dilation);
                let c_len = plan.c_row_len(stage);
                let rows = slots(&self.c[stage], c_len, plan.c_ring[stage], i, dilation, pool);
                let slot = (i % plan.t_ring[layer]) * row_len;
                let out = &mut self.t[layer][slot..][..row_len];
                engine.pool_row(plan, stage, &rows[..pool], out);
            }
            self.t_next[layer] += 1;
        }
    }

    /// Makes sure `C_stage` holds dense row `last`.
    fn ensure_c(&mut self, engine: &E, shared: &Shared<'_>, stage: usize, last: usize) {
        let plan = shared.plan;
        let (kernel, dilation) = (plan.kernels[stage], plan.dilations[stage]);
        while self.c_next[stage] <= last {
            let r = self.c_next[stage];
            self.ensure_t(engine, shared, stage, r + (kernel - 1) * dilation);
            let t_len = plan.t_row_len(stage);
            let rows = slots(
                &self.t[stage],
                t_len,
                plan.t_ring[stage],
                r,
                dilation,
                kernel,
            );
            let c_len = plan.c_row_len(stage);
            let slot = (r % plan.c_ring[stage]) * c_len;
            engine.conv_row(
                plan,
                stage,
                &rows[..kernel],
                &mut self.c[stage][slot..][..c_len],
            );
            self.c_next[stage] += 1;
        }
    }
}

/// The ring slots of dense rows `first + k * dilation` for `k < count` (`count <= MAX_TAPS`);
/// the entries past `count` are empty.
fn slots<T>(
    ring: &[T],
    row_len: usize,
    ring_rows: usize,
    first: usize,
    dilation: usize,
    count: usize,
) -> [&[T]; MAX_TAPS] {
    let mut rows: [&[T]; MAX_TAPS] = [&[]; MAX_TAPS];
    for (k, row) in rows.iter_mut().enumerate().take(count) {
        let slot = ((first + k * dilation) % ring_rows) * row_len;
        *row = &ring[slot..][..row_len];
    }
    rows
}
