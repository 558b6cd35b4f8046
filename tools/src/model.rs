//! A weights file of any configuration and precision, loaded for the command line: reads the
//! header, picks the matching const-generic network at run time, and segments radiographs with
//! the fast dense path.
//!
//! The shipped default model (configuration 4, trained on synthetic and rendered radiographs,
//! see `docs/model-card.md`) is compiled into the binary, so `bonemask segment` needs no file
//! besides the image, on an air-gapped machine too.

use std::path::{Path, PathBuf};

use bonemask_core::architecture::{Architecture, Config1, Config2, Config3, Config4};
use bonemask_core::fast::{self, DenseOutput, FastError, ScanOptions};
use bonemask_core::int8::{
    InputQuant, Int8Weights, Int8Weights1, Int8Weights2, Int8Weights3, Int8Weights4,
};
use bonemask_core::scaling::{Histogram, InputAffine, resolve_for_image};
use bonemask_core::tanh::logistic;
use bonemask_core::weights::{F32Weights, Weights1, Weights2, Weights3, Weights4};
use bonemask_core::weights_file::{self, Header, Precision, WeightsError};
use bonemask_core::window::RawImage;

/// The default model's f32 weights file, compiled in.
pub const DEFAULT_F32: &[u8] = include_bytes!("../models/default.f32.weights");

/// The default model's int8 weights file, compiled in.
pub const DEFAULT_INT8: &[u8] = include_bytes!("../models/default.int8.weights");

/// Errors of loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The weights file could not be read from disk.
    #[error("{path}: cannot read weights file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The weights file is not valid.
    #[error("{origin}: {source}")]
    Weights {
        /// The file, or "default model".
        origin: String,
        /// What is wrong with it.
        source: WeightsError,
    },
    /// The file holds a table that is none of the four configurations.
    #[error("{origin}: configuration table {window}x{window} is none of the four this build knows")]
    UnknownConfiguration {
        /// The file, or "default model".
        origin: String,
        /// Its window side.
        window: u16,
    },
    /// The dense scan failed.
    #[error("dense scan: {0}")]
    Scan(FastError),
}

/// Float or int8 weights of one of the four configurations, on the heap.
pub enum Network {
    /// Configuration 1, f32.
    F32C1(Box<Weights1>),
    /// Configuration 2, f32.
    F32C2(Box<Weights2>),
    /// Configuration 3, f32.
    F32C3(Box<Weights3>),
    /// Configuration 4, f32.
    F32C4(Box<Weights4>),
    /// Configuration 1, int8.
    Int8C1(Box<Int8Weights1>),
    /// Configuration 2, int8.
    Int8C2(Box<Int8Weights2>),
    /// Configuration 3, int8.
    Int8C3(Box<Int8Weights3>),
    /// Configuration 4, int8.
    Int8C4(Box<Int8Weights4>),
}

/// A loaded model: its header (scaling, provenance) and its network.
pub struct Model {
    /// The file's header.
    pub header: Header,
    /// The weights.
    pub network: Network,
    /// Where it came from, for messages: a path or "default model".
    pub origin: String,
}

/// The result of segmenting one image: `H x W` maps, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Segmentation {
    /// 1 bone, 0 other.
    pub labels: Vec<u8>,
    /// Bone probability in [0, 1].
    pub probability: Vec<f32>,
    /// The affine map the image was scaled with.
    pub affine: InputAffine,
    /// The kernel that ran (e.g. "avx2+fma").
    pub kernel: &'static str,
}

impl Model {
    /// Loads a weights file, or the compiled-in default model of `precision` when `path` is
    /// `None`.
    pub fn load(path: Option<&Path>, precision: Precision) -> Result<Model, ModelError> {
        match path {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Model::from_bytes(&bytes, &path.display().to_string())
            }
            None => {
                let bytes = match precision {
                    Precision::F32 => DEFAULT_F32,
                    Precision::Int8 => DEFAULT_INT8,
                };
                Model::from_bytes(bytes, "default model")
            }
        }
    }

    /// Loads a weights file held in memory; `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Model, ModelError> {
        let weights_error = |source| ModelError::Weights {
            origin: origin.to_string(),
            source,
        };
        let header = weights_file::parse(bytes).map_err(weights_error)?.header;
        let network = match (header.precision, header.configuration) {
            (Precision::F32, 1) => Network::F32C1(read_f32(bytes).map_err(weights_error)?),
            (Precision::F32, 2) => Network::F32C2(read_f32(bytes).map_err(weights_error)?),
            (Precision::F32, 3) => Network::F32C3(read_f32(bytes).map_err(weights_error)?),
            (Precision::F32, 4) => Network::F32C4(read_f32(bytes).map_err(weights_error)?),
            (Precision::Int8, 1) => Network::Int8C1(read_int8(bytes).map_err(weights_error)?),
            (Precision::Int8, 2) => Network::Int8C2(read_int8(bytes).map_err(weights_error)?),
            (Precision::Int8, 3) => Network::Int8C3(read_int8(bytes).map_err(weights_error)?),
            (Precision::Int8, 4) => Network::Int8C4(read_int8(bytes).map_err(weights_error)?),
            _ => {
                return Err(ModelError::UnknownConfiguration {
                    origin: origin.to_string(),
                    window: header.table.window,
                });
            }
        };
        Ok(Model {
            header,
            network,
            origin: origin.to_string(),
        })
    }

    /// The window side `W` of the network, in pixels.
    pub fn window(&self) -> usize {
        self.header.table.window as usize
    }

    /// Multiply-adds per pixel of a dense scan.
    pub fn macs_per_pixel(&self) -> usize {
        match self.header.configuration {
            1 => Config1::MACS_PER_PIXEL_DENSE,
            2 => Config2::MACS_PER_PIXEL_DENSE,
            3 => Config3::MACS_PER_PIXEL_DENSE,
            _ => Config4::MACS_PER_PIXEL_DENSE,
        }
    }

    /// The affine map for one image: the model's fixed scaling, or its percentiles of `pixels`.
    pub fn affine_for(&self, pixels: &[u16]) -> InputAffine {
        let mut histogram: Box<Histogram> = vec![0u32; 65536]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| unreachable!("a 65536-element slice converts to a Histogram"));
        resolve_for_image(&self.header.scaling, pixels, &mut histogram)
    }

    /// Labels every pixel of `image` with the fast dense path.
    pub fn segment(
        &self,
        image: &RawImage<'_>,
        options: &ScanOptions<'_>,
    ) -> Result<Segmentation, ModelError> {
        let affine = self.affine_for(image.pixels);
        let quant = InputQuant::from_affine(&affine);
        let (labels, probability, kernel) = match &self.network {
            Network::F32C1(w) => from_f32(fast::scan_f32(w, image, &affine, options)),
            Network::F32C2(w) => from_f32(fast::scan_f32(w, image, &affine, options)),
            Network::F32C3(w) => from_f32(fast::scan_f32(w, image, &affine, options)),
            Network::F32C4(w) => from_f32(fast::scan_f32(w, image, &affine, options)),
            Network::Int8C1(w) => from_int8(fast::scan_int8(w, image, &quant, options)),
            Network::Int8C2(w) => from_int8(fast::scan_int8(w, image, &quant, options)),
            Network::Int8C3(w) => from_int8(fast::scan_int8(w, image, &quant, options)),
            Network::Int8C4(w) => from_int8(fast::scan_int8(w, image, &quant, options)),
        }?;
        Ok(Segmentation {
            labels,
            probability,
            affine,
            kernel,
        })
    }
}

type Maps = (Vec<u8>, Vec<f32>, &'static str);

/// Labels and bone probabilities from dense logits; `margin` is the real-valued bone-minus-other
/// logit of a pixel.
fn to_maps<T: PartialOrd + Copy>(
    output: Result<DenseOutput<T>, FastError>,
    margin: impl Fn(&[T; 2]) -> f32,
) -> Result<Maps, ModelError> {
    let output = output.map_err(ModelError::Scan)?;
    let labels = output
        .logits
        .iter()
        .map(|l| u8::from(l[1] > l[0]))
        .collect();
    let probability = output.logits.iter().map(|l| logistic(margin(l))).collect();
    Ok((labels, probability, output.kernel.name()))
}

fn from_f32(output: Result<DenseOutput<f32>, FastError>) -> Result<Maps, ModelError> {
    to_maps(output, |l| l[1] - l[0])
}

fn from_int8(output: Result<DenseOutput<i32>, FastError>) -> Result<Maps, ModelError> {
    let scale = 1.0 / (1u32 << bonemask_core::int8::LOGIT_FRACTION_BITS) as f32;
    to_maps(output, move |l| (l[1] as i64 - l[0] as i64) as f32 * scale)
}

fn read_f32<A: Architecture, const N: usize>(
    bytes: &[u8],
) -> Result<Box<F32Weights<A, N>>, WeightsError> {
    let mut weights = F32Weights::<A, N>::boxed();
    weights_file::read_f32(bytes, &mut weights)?;
    Ok(weights)
}

fn read_int8<A: Architecture, const NW: usize, const NB: usize>(
    bytes: &[u8],
) -> Result<Box<Int8Weights<A, NW, NB>>, WeightsError> {
    let mut weights = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    weights_file::read_int8(bytes, &mut weights)?;
    Ok(weights)
}
