//! Weights files of a trained model in `bonemask_core`'s format, f32 and int8 (quantised by
//! `bonemask_core::quantize::quantize`), with the run's provenance in the header.
//!
//! `bonemask_core` sizes weights by type (`F32Weights<A, N>`), so a file is written through
//! the model's configuration type: [`TrainedModel::f32_file`] and [`TrainedModel::int8_file`]
//! dispatch at run time over configurations 1-4; any other table goes through the generic
//! [`TrainedModel::f32_file_as`] / [`TrainedModel::int8_file_as`] with its `Config` type.

use bonemask_core::architecture::{Architecture, Config1, Config2, Config3, Config4};
use bonemask_core::int8::Int8Weights;
use bonemask_core::quantize::quantize;
use bonemask_core::weights::F32Weights;
use bonemask_core::weights_file::{Header, Precision, file_len_max, write_f32, write_int8};

use crate::error::TrainError;
use crate::train::TrainedModel;

/// `TrainedModel::int8_file_as` for a configuration type, its three sizes spelled out.
// rustfmt indents this body further on every run; the layout is fixed by hand.
#[rustfmt::skip]
macro_rules! int8_file_of {
    ($model:expr, $config:ty) => {
        $model.int8_file_as::<
            $config,
            { <$config as Architecture>::PARAMS },
            { <$config as Architecture>::WEIGHTS },
            { <$config as Architecture>::BIASES },
        >()
    };
}

impl TrainedModel {
    /// The parameters as `bonemask_core` weights of configuration `A` (`N = A::PARAMS`).
    pub fn weights_as<A: Architecture, const N: usize>(
        &self,
    ) -> Result<Box<F32Weights<A, N>>, TrainError> {
        if self.geometry != A::GEOMETRY || self.params.len() != N {
            return Err(TrainError::WrongExportType {
                expected: A::WINDOW,
                found: self.geometry.window,
            });
        }
        let mut weights = F32Weights::<A, N>::boxed();
        weights.params_mut().copy_from_slice(&self.params);
        Ok(weights)
    }

    fn header<A: Architecture>(&self, precision: Precision) -> Header {
        Header::new::<A>(precision, self.scaling, self.provenance.clone())
    }

    /// The f32 weights file, written as configuration `A`.
    pub fn f32_file_as<A: Architecture, const N: usize>(&self) -> Result<Vec<u8>, TrainError> {
        let weights = self.weights_as::<A, N>()?;
        let mut bytes = vec![0u8; file_len_max::<A>()];
        let len = write_f32(&*weights, &self.header::<A>(Precision::F32), &mut bytes)
            .map_err(TrainError::WeightsFile)?;
        bytes.truncate(len);
        Ok(bytes)
    }

    /// The int8 weights file, written as configuration `A` (`NW = A::WEIGHTS`,
    /// `NB = A::BIASES`).
    pub fn int8_file_as<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
        &self,
    ) -> Result<Vec<u8>, TrainError> {
        let weights = self.weights_as::<A, N>()?;
        let mut quantised = Box::new(Int8Weights::<A, NW, NB>::zeroed());
        quantize(&*weights, &mut quantised);
        let mut bytes = vec![0u8; file_len_max::<A>()];
        let len = write_int8(&*quantised, &self.header::<A>(Precision::Int8), &mut bytes)
            .map_err(TrainError::WeightsFile)?;
        bytes.truncate(len);
        Ok(bytes)
    }

    /// The f32 weights file of a model of configuration 1-4.
    pub fn f32_file(&self) -> Result<Vec<u8>, TrainError> {
        match self.configuration() {
            1 => self.f32_file_as::<Config1, { Config1::PARAMS }>(),
            2 => self.f32_file_as::<Config2, { Config2::PARAMS }>(),
            3 => self.f32_file_as::<Config3, { Config3::PARAMS }>(),
            4 => self.f32_file_as::<Config4, { Config4::PARAMS }>(),
            _ => Err(TrainError::NotAConfiguration),
        }
    }

    /// The int8 weights file of a model of configuration 1-4.
    pub fn int8_file(&self) -> Result<Vec<u8>, TrainError> {
        match self.configuration() {
            1 => int8_file_of!(self, Config1),
            2 => int8_file_of!(self, Config2),
            3 => int8_file_of!(self, Config3),
            4 => int8_file_of!(self, Config4),
            _ => Err(TrainError::NotAConfiguration),
        }
    }

    /// The configuration number (1..=4) of the model's table, 0 for another table.
    pub fn configuration(&self) -> u8 {
        let g = &self.geometry;
        bonemask_core::architecture::configuration_id(g.window, g.kernels, g.pools)
    }
}
