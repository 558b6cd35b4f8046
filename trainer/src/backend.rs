//! Where the arithmetic of a training step runs. One trait, [`Backend`]; the CPU backend is
//! [`CpuBackend`]. A CUDA backend will implement the same trait; until it exists,
//! [`create_backend`] answers [`Device::Cuda`] with [`TrainError::CudaNotBuilt`].
//!
//! Determinism: the CPU backend splits a batch into groups fixed by the batch alone (one dense
//! patch, or [`WINDOWS_PER_GROUP`] windows, per group), computes each group's gradient
//! sequentially on some thread, and adds the groups in order. The sums therefore do not depend
//! on the number of threads or on scheduling, and the same batch gives the same bits on the
//! same machine. (Across machines they may differ: the matrix-product kernel, the AXPY of
//! the sparse backward pass and the direct convolution are chosen by the CPU's features at run
//! time.)

use rayon::prelude::*;

use crate::error::TrainError;
use crate::layers::loss::{LossSum, UNLABELLED};
use crate::network::{Form, PackedParams, Plan, Workspace, sample_gradient};
use bonemask_core::architecture::Geometry;

/// Windows whose gradients one worker sums before they join the batch's.
pub const WINDOWS_PER_GROUP: usize = 8;

/// Which device trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The host's cores (the default).
    #[default]
    Cpu,
    /// An NVIDIA GPU; not built yet.
    Cuda,
}

/// One sample of a batch as a backend sees it.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    /// `[out_h + W - 1][out_w + W - 1]` scaled network inputs, row-major.
    pub input: &'a [f32],
    /// `[out_h][out_w]` labels: 0 other, 1 bone, 255 not labelled.
    pub labels: &'a [u8],
    /// Rows of labelled pixels (1 in window form).
    pub out_h: usize,
    /// Columns of labelled pixels (1 in window form).
    pub out_w: usize,
}

/// Computes the loss and gradient of one batch.
pub trait Backend: Send {
    /// A short name for logs ("cpu").
    fn name(&self) -> &'static str;

    /// Adds into `gradient` (`Layout` order, `params.len()` elements) the gradient of the mean
    /// cross-entropy over the batch's labelled pixels at `params`; returns the loss sum,
    /// correct and labelled pixel counts.
    fn batch_gradient(
        &mut self,
        params: &[f32],
        batch: &[Sample<'_>],
        gradient: &mut [f32],
    ) -> Result<LossSum, TrainError>;
}

/// Makes the backend for `device`: the CPU one with `threads` workers (0: one per core).
pub fn create_backend(
    device: Device,
    geometry: &Geometry,
    form: Form,
    threads: usize,
) -> Result<Box<dyn Backend>, TrainError> {
    match device {
        Device::Cpu => Ok(Box::new(CpuBackend::new(geometry, form, threads)?)),
        Device::Cuda => Err(TrainError::CudaNotBuilt),
    }
}

/// One group's reusable state.
struct Group {
    work: Workspace<f32>,
    grads: PackedParams<f32>,
}

/// The CPU backend: rayon workers over groups of samples, matrix products by `matrixmultiply`.
pub struct CpuBackend {
    geometry: Geometry,
    form: Form,
    pool: rayon::ThreadPool,
    groups: Vec<Group>,
}

impl CpuBackend {
    /// A backend for one table and form with `threads` workers (0: one per core).
    pub fn new(geometry: &Geometry, form: Form, threads: usize) -> Result<Self, TrainError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|error| TrainError::Threads {
                threads,
                reason: error.to_string(),
            })?;
        Ok(CpuBackend {
            geometry: *geometry,
            form,
            pool,
            groups: Vec::new(),
        })
    }

    fn plan(&self, sample: &Sample<'_>) -> Plan {
        match self.form {
            Form::Window => Plan::window(&self.geometry),
            Form::Dense => Plan::dense(&self.geometry, sample.out_h, sample.out_w),
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn batch_gradient(
        &mut self,
        params: &[f32],
        batch: &[Sample<'_>],
        gradient: &mut [f32],
    ) -> Result<LossSum, TrainError> {
        let labelled = batch
            .iter()
            .flat_map(|sample| sample.labels)
            .filter(|label| **label != UNLABELLED)
            .count();
        if batch.is_empty() || labelled == 0 {
            return Ok(LossSum::default());
        }
        for (index, sample) in batch.iter().enumerate() {
            let plan = self.plan(sample);
            let sizes = [
                ("input", plan.in_h() * plan.in_w(), sample.input.len()),
                ("labels", plan.out_h() * plan.out_w(), sample.labels.len()),
            ];
            for (what, expected, found) in sizes {
                if expected != found {
                    return Err(TrainError::SampleSize {
                        index,
                        what,
                        expected,
                        found,
                    });
                }
            }
        }
        let packing_plan = Plan::window(&self.geometry);
        let packed = PackedParams::pack(&packing_plan, params);
        let scale = 1.0 / labelled as f32;

        let per_group = match self.form {
            Form::Window => WINDOWS_PER_GROUP,
            Form::Dense => 1,
        };
        let chunks: Vec<&[Sample<'_>]> = batch.chunks(per_group).collect();
        while self.groups.len() < chunks.len() {
            self.groups.push(Group {
                work: Workspace::default(),
                grads: PackedParams::zeros(&packing_plan),
            });
        }

        let this = &*self;
        let plans: Vec<Vec<Plan>> = chunks
            .iter()
            .map(|chunk| chunk.iter().map(|sample| this.plan(sample)).collect())
            .collect();
        let groups = &mut self.groups[..chunks.len()];
        let sums: Vec<LossSum> = self.pool.install(|| {
            groups
                .par_iter_mut()
                .zip(chunks.par_iter().zip(plans.par_iter()))
                .map(|(group, (chunk, plans))| {
                    group.grads.clear();
                    let mut sum = LossSum::default();
                    for (sample, plan) in chunk.iter().zip(plans) {
                        let part = sample_gradient(
                            plan,
                            &packed,
                            sample.input,
                            sample.labels,
                            scale,
                            &mut group.work,
                            &mut group.grads,
                        );
                        sum.add(&part);
                    }
                    sum
                })
                .collect()
        });

        let mut total = LossSum::default();
        for (group, sum) in self.groups.iter().zip(&sums) {
            group.grads.unpack_add(&packing_plan, gradient);
            total.add(sum);
        }
        Ok(total)
    }
}
