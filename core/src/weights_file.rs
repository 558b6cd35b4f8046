//! The weights file: a postcard-encoded header, the parameters, and a CRC-32 over both.
//!
//! Layout (format version 1), all integers little-endian or postcard varints:
//!
//! | part | encoding |
//! |---|---|
//! | header | postcard [`Header`]: magic `BONEMASK`, version, configuration, table, precision,
//! input scaling, provenance |
//! | payload | postcard byte string: varint length, then the bytes below |
//! | checksum | CRC-32 (IEEE) of everything before it, 4 bytes little-endian |
//!
//! Payload of an [`Precision::F32`] file: `PARAMS` f32 in [`crate::architecture::Layout`]
//! order. Payload of an [`Precision::Int8`] file: `WEIGHTS` int8 weights, then `BIASES` int32
//! biases, then `BIASES` requantisers as (int32 multiplier, u8 shift).
//!
//! Reading needs no allocation: it parses the caller's `&[u8]` and writes into the caller's
//! weights. Every way a file can be wrong has its own [`WeightsError`] variant.

use serde::{Deserialize, Serialize};

use crate::architecture::{Architecture, STAGES};
use crate::int8::{Int8Weights, Requant};
use crate::scaling::InputScaling;
use crate::weights::F32Weights;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"BONEMASK";

/// The newest format version this crate reads and the one it writes.
pub const FORMAT_VERSION: u16 = 1;

/// Bytes the header can take at most (its description is bounded).
pub const HEADER_BYTES_MAX: usize = 256;

/// Longest provenance description, in bytes of UTF-8.
pub const DESCRIPTION_BYTES: usize = 96;

/// Number format of the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// IEEE single-precision parameters.
    F32,
    /// int8 weights, int32 biases, integer requantisers.
    Int8,
}

/// A configuration table as stored in a file, so that a file of an unknown table still says
/// what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Window side in pixels.
    pub window: u16,
    /// Filter side of each stage.
    pub kernels: [u8; STAGES],
    /// Pool side of each stage.
    pub pools: [u8; STAGES],
}

impl Table {
    /// The table of configuration `A`.
    pub fn of<A: Architecture>() -> Table {
        Table {
            window: A::WINDOW as u16,
            kernels: A::KERNELS.map(|k| k as u8),
            pools: A::POOLS.map(|p| p as u8),
        }
    }
}

/// Where a model came from: enough to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Seed of the training run.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: u32,
    /// Labelled pixels seen per epoch.
    pub labelled_pixels: u64,
    /// Free text: data, command, date.
    pub description: heapless::String<DESCRIPTION_BYTES>,
}

impl Provenance {
    /// Provenance of untrained (e.g. random test) weights.
    pub fn untrained(seed: u64) -> Provenance {
        Provenance {
            seed,
            epochs: 0,
            labelled_pixels: 0,
            description: heapless::String::new(),
        }
    }
}

/// Everything in a weights file except the parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`MAGIC`].
    pub magic: [u8; 8],
    /// Format version, [`FORMAT_VERSION`] when written by this crate.
    pub version: u16,
    /// The method's configuration number (1..=4), 0 for another table.
    pub configuration: u8,
    /// The full table.
    pub table: Table,
    /// Number format of the payload.
    pub precision: Precision,
    /// How raw detector values become network inputs.
    pub scaling: InputScaling,
    /// Where the weights came from.
    pub provenance: Provenance,
}

impl Header {
    /// A header for configuration `A`.
    pub fn new<A: Architecture>(
        precision: Precision,
        scaling: InputScaling,
        provenance: Provenance,
    ) -> Header {
        Header {
            magic: MAGIC,
            version: FORMAT_VERSION,
            configuration: A::ID,
            table: Table::of::<A>(),
            precision,
            scaling,
            provenance,
        }
    }
}

/// Why a weights file cannot be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsError {
    /// The file does not start with `BONEMASK`: it is not a weights file.
    BadMagic,
    /// The file was written by a newer bonemask; upgrade to read it.
    NewerVersion {
        /// Version in the file.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The file ends early: an interrupted copy or download.
    Truncated,
    /// The header or payload does not decode though the file is long enough: corrupted, or
    /// not written by bonemask.
    Malformed,
    /// The CRC-32 does not match: the file was altered or damaged.
    ChecksumMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC of the file's contents.
        computed: u32,
    },
    /// The file holds another configuration than the one asked for.
    WrongConfiguration {
        /// Configuration number in the file (0: a table outside the method's four).
        found: u8,
        /// Configuration number asked for.
        expected: u8,
    },
    /// The file holds the other precision (f32 vs int8).
    WrongPrecision {
        /// Precision in the file.
        found: Precision,
        /// Precision asked for.
        expected: Precision,
    },
    /// The payload's length is not what the configuration and precision need.
    PayloadSize {
        /// Bytes in the file.
        found: usize,
        /// Bytes needed.
        expected: usize,
    },
    /// A parameter is NaN or infinite: a diverged training run.
    NonFinite {
        /// Index of the first such parameter in [`crate::architecture::Layout`] order.
        index: usize,
    },
    /// The output buffer is too small to write the file.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl core::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WeightsError::BadMagic => write!(f, "not a bonemask weights file (bad magic)"),
            WeightsError::NewerVersion { found, supported } => write!(
                f,
                "format version {found} is newer than this build reads ({supported}); upgrade"
            ),
            WeightsError::Truncated => write!(f, "file is truncated"),
            WeightsError::Malformed => write!(f, "header or payload does not decode"),
            WeightsError::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
            WeightsError::WrongConfiguration { found, expected } => write!(
                f,
                "file holds configuration {found}, expected configuration {expected}"
            ),
            WeightsError::WrongPrecision { found, expected } => {
                write!(f, "file holds {found:?} weights, expected {expected:?}")
            }
            WeightsError::PayloadSize { found, expected } => {
                write!(f, "payload is {found} bytes, expected {expected}")
            }
            WeightsError::NonFinite { index } => {
                write!(f, "parameter {index} is NaN or infinite")
            }
            WeightsError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small, {needed} bytes needed")
            }
        }
    }
}

impl core::error::Error for WeightsError {}

/// A checked file split into its header and payload.
#[derive(Clone, Debug)]
pub struct ParsedFile<'a> {
    /// The decoded header.
    pub header: Header,
    /// The raw payload bytes.
    pub payload: &'a [u8],
}

/// Checks magic, version, structure and checksum, and splits the file. Does not look at the
/// configuration, precision or values: see [`read_f32`] and [`read_int8`].
pub fn parse(bytes: &[u8]) -> Result<ParsedFile<'_>, WeightsError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(WeightsError::BadMagic);
    }
    if bytes.len() <= MAGIC.len() {
        return Err(WeightsError::Truncated);
    }
    let (version, _) =
        postcard::take_from_bytes::<u16>(&bytes[MAGIC.len()..]).map_err(decode_error)?;
    if version > FORMAT_VERSION {
        return Err(WeightsError::NewerVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }

    let (header, rest) = postcard::take_from_bytes::<Header>(bytes).map_err(decode_error)?;
    let (payload, rest) = postcard::take_from_bytes::<&[u8]>(rest).map_err(decode_error)?;
    if rest.len() < 4 {
        return Err(WeightsError::Truncated);
    }
    if rest.len() > 4 {
        return Err(WeightsError::Malformed);
    }

    let body = &bytes[..bytes.len() - 4];
    let stored = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(WeightsError::ChecksumMismatch { stored, computed });
    }
    if version == 0 {
        return Err(WeightsError::Malformed);
    }
    Ok(ParsedFile { header, payload })
}

fn decode_error(error: postcard::Error) -> WeightsError {
    match error {
        postcard::Error::DeserializeUnexpectedEnd => WeightsError::Truncated,
        _ => WeightsError::Malformed,
    }
}

fn check_identity<A: Architecture>(
    header: &Header,
    precision: Precision,
) -> Result<(), WeightsError> {
    if header.table != Table::of::<A>() {
        return Err(WeightsError::WrongConfiguration {
            found: header.configuration,
            expected: A::ID,
        });
    }
    if header.precision != precision {
        return Err(WeightsError::WrongPrecision {
            found: header.precision,
            expected: precision,
        });
    }
    Ok(())
}

/// Bytes of an f32 payload of configuration `A`.
pub const fn f32_payload_len<A: Architecture>() -> usize {
    4 * A::PARAMS
}

/// Bytes of an int8 payload of configuration `A`.
pub const fn int8_payload_len<A: Architecture>() -> usize {
    A::WEIGHTS + 4 * A::BIASES + 5 * A::BIASES
}

/// An upper bound on the size of a file of configuration `A` in either precision.
pub const fn file_len_max<A: Architecture>() -> usize {
    HEADER_BYTES_MAX + 5 + f32_payload_len::<A>() + 4
}

/// Reads an f32 weights file of configuration `A` into `weights`; returns its header.
pub fn read_f32<A: Architecture, const N: usize>(
    bytes: &[u8],
    weights: &mut F32Weights<A, N>,
) -> Result<Header, WeightsError> {
    let file = parse(bytes)?;
    check_identity::<A>(&file.header, Precision::F32)?;
    let expected = f32_payload_len::<A>();
    if file.payload.len() != expected {
        return Err(WeightsError::PayloadSize {
            found: file.payload.len(),
            expected,
        });
    }
    for (index, (param, chunk)) in weights
        .params_mut()
        .iter_mut()
        .zip(file.payload.chunks_exact(4))
        .enumerate()
    {
        let value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if !value.is_finite() {
            return Err(WeightsError::NonFinite { index });
        }
        *param = value;
    }
    Ok(file.header)
}

/// Reads an int8 weights file of configuration `A` into `weights`; returns its header.
pub fn read_int8<A: Architecture, const NW: usize, const NB: usize>(
    bytes: &[u8],
    weights: &mut Int8Weights<A, NW, NB>,
) -> Result<Header, WeightsError> {
    let file = parse(bytes)?;
    check_identity::<A>(&file.header, Precision::Int8)?;
    let expected = int8_payload_len::<A>();
    if file.payload.len() != expected {
        return Err(WeightsError::PayloadSize {
            found: file.payload.len(),
            expected,
        });
    }

    let (quantised, rest) = file.payload.split_at(NW);
    let (biases, requants) = rest.split_at(4 * NB);
    for (weight, byte) in weights.weights.iter_mut().zip(quantised) {
        *weight = *byte as i8;
    }
    for (bias, chunk) in weights.biases.iter_mut().zip(biases.chunks_exact(4)) {
        *bias = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    for (requant, chunk) in weights.requant.iter_mut().zip(requants.chunks_exact(5)) {
        let multiplier = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if multiplier < 0 || !(1..=62).contains(&chunk[4]) {
            return Err(WeightsError::Malformed);
        }
        *requant = Requant {
            multiplier,
            shift: chunk[4],
        };
    }
    Ok(file.header)
}

/// Writes an f32 weights file into `out`; returns the bytes written.
pub fn write_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    header: &Header,
    out: &mut [u8],
) -> Result<usize, WeightsError> {
    let mut header = header.clone();
    header.precision = Precision::F32;
    let payload = weights
        .params()
        .iter()
        .flat_map(|value| value.to_le_bytes());
    write_file(&header, f32_payload_len::<A>(), payload, out)
}

/// Writes an int8 weights file into `out`; returns the bytes written.
pub fn write_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    header: &Header,
    out: &mut [u8],
) -> Result<usize, WeightsError> {
    let mut header = header.clone();
    header.precision = Precision::Int8;
    let quantised = weights.weights.iter().map(|w| *w as u8);
    let biases = weights.biases.iter().flat_map(|b| b.to_le_bytes());
    let requants = weights.requant.iter().flat_map(|r| {
        let m = r.multiplier.to_le_bytes();
        [m[0], m[1], m[2], m[3], r.shift]
    });
    let payload = quantised.chain(biases).chain(requants);
    write_file(&header, int8_payload_len::<A>(), payload, out)
}

fn write_file(
    header: &Header,
    payload_len: usize,
    payload: impl Iterator<Item = u8>,
    out: &mut [u8],
) -> Result<usize, WeightsError> {
    let too_small = WeightsError::BufferTooSmall {
        needed: HEADER_BYTES_MAX + payload_len + 9,
    };
    let header_len = postcard::to_slice(header, out)
        .map_err(|_| too_small)?
        .len();

    let mut at = header_len;
    let mut length = payload_len;
    loop {
        let byte = (length & 0x7f) as u8;
        length >>= 7;
        *out.get_mut(at).ok_or(too_small)? = if length == 0 { byte } else { byte | 0x80 };
        at += 1;
        if length == 0 {
            break;
        }
    }

    let payload_end = at + payload_len;
    if out.len() < payload_end + 4 {
        return Err(too_small);
    }
    let mut written = 0;
    for (slot, byte) in out[at..payload_end].iter_mut().zip(payload) {
        *slot = byte;
        written += 1;
    }
    if written != payload_len {
        return Err(WeightsError::Malformed);
    }

    let checksum = crc32fast::hash(&out[..payload_end]);
    out[payload_end..payload_end + 4].copy_from_slice(&checksum.to_le_bytes());
    Ok(payload_end + 4)
}
