//! A small NIfTI-1 reader (`.nii` or `.nii.gz`, single file, either byte order) for the CT
//! volumes `bonemask drr` projects. It reads the grid, voxel size, sform and the scaling;
//! it does not read NIfTI-2, two-file `.hdr`/`.img` pairs, or more than three dimensions
//! (a 4-D file with one volume is accepted).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Errors of NIfTI reading; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    /// The file could not be read or decompressed.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The header is not NIfTI-1 or describes something unsupported.
    #[error("{path}: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// A 3-D volume: `nx x ny x nz` voxels, x fastest, as f32 after the file's scaling.
#[derive(Clone, Debug)]
pub struct Volume {
    /// Voxels along i, j, k.
    pub dims: [usize; 3],
    /// Voxel size along i, j, k in mm.
    pub spacing: [f64; 3],
    /// The sform (or qform diagonal) rows: voxel (i, j, k, 1) to mm (x, y, z).
    pub srow: [[f64; 4]; 3],
    /// `nx * ny * nz` values, index `i + nx * (j + ny * k)`.
    pub data: Vec<f32>,
}

impl Volume {
    /// Value at voxel (i, j, k).
    pub fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.data[i + self.dims[0] * (j + self.dims[1] * k)]
    }
}

/// Reads a NIfTI-1 file, decompressing it when its name ends in `.gz`.
pub fn read_nifti(path: &Path) -> Result<Volume, NiftiError> {
    let io = |source| NiftiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        out
    } else {
        raw
    };
    parse_nifti(path, &bytes)
}

/// Parses NIfTI-1 bytes; `path` is used only in error messages.
pub fn parse_nifti(path: &Path, b: &[u8]) -> Result<Volume, NiftiError> {
    let fail = |what: String| NiftiError::Format {
        path: path.to_path_buf(),
        what,
    };
    if b.len() < 352 {
        return Err(fail(format!(
            "{} bytes is too short for a NIfTI-1 header",
            b.len()
        )));
    }
    let little = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) == 348;
    if !little && i32::from_be_bytes([b[0], b[1], b[2], b[3]]) != 348 {
        return Err(fail("not NIfTI-1 (sizeof_hdr is not 348)".into()));
    }
    let i16_at = |o: usize| {
        let v = [b[o], b[o + 1]];
        if little {
            i16::from_le_bytes(v)
        } else {
            i16::from_be_bytes(v)
        }
    };
    let f32_at = |o: usize| {
        let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if little {
            f32::from_le_bytes(v)
        } else {
            f32::from_be_bytes(v)
        }
    };
    if &b[344..347] != b"n+1" {
        return Err(fail(
            "not a single-file NIfTI-1 (magic is not \"n+1\")".into(),
        ));
    }
    let ndim = i16_at(40);
    let dim: Vec<i16> = (1..=7).map(|k| i16_at(40 + 2 * k)).collect();
    if !(3..=4).contains(&ndim) || (ndim == 4 && dim[3] > 1) || dim[..3].iter().any(|&d| d < 1) {
        return Err(fail(format!(
            "unsupported dimensions {ndim}: {:?}",
            &dim[..ndim.max(0) as usize]
        )));
    }
    let dims = [dim[0] as usize, dim[1] as usize, dim[2] as usize];
    let spacing = [1, 2, 3].map(|k| f64::from(f32_at(76 + 4 * k)).abs());
    if spacing.iter().any(|s| !s.is_finite() || *s < 1e-3) {
        return Err(fail(format!("voxel size {spacing:?} mm is not positive")));
    }
    let datatype = i16_at(70);
    let offset = f32_at(108).max(352.0) as usize;
    let (mut slope, inter) = (f32_at(112), f32_at(116));
    if slope == 0.0 || !slope.is_finite() {
        slope = 1.0;
    }
    let sform_code = i16_at(254);
    let srow = if sform_code > 0 {
        [0, 1, 2].map(|r| [0, 1, 2, 3].map(|c| f64::from(f32_at(280 + 16 * r + 4 * c))))
    } else {
        [
            [spacing[0], 0.0, 0.0, 0.0],
            [0.0, spacing[1], 0.0, 0.0],
            [0.0, 0.0, spacing[2], 0.0],
        ]
    };

    let n = dims[0] * dims[1] * dims[2];
    let size = match datatype {
        2 | 256 => 1,
        4 | 512 => 2,
        8 | 16 | 768 => 4,
        64 => 8,
        other => return Err(fail(format!("unsupported NIfTI datatype {other}"))),
    };
    let body = b.get(offset..offset + n * size).ok_or_else(|| {
        fail(format!(
            "truncated: {n} voxels of {size} bytes need {} bytes",
            offset + n * size
        ))
    })?;
    let word = |c: &[u8]| -> f32 {
        let mut v = [0u8; 8];
        v[..size].copy_from_slice(c);
        if !little {
            v[..size].reverse();
        }
        match datatype {
            2 => f32::from(v[0]),
            256 => f32::from(v[0] as i8),
            4 => f32::from(i16::from_le_bytes([v[0], v[1]])),
            512 => f32::from(u16::from_le_bytes([v[0], v[1]])),
            8 => i32::from_le_bytes([v[0], v[1], v[2], v[3]]) as f32,
            768 => u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as f32,
            16 => f32::from_le_bytes([v[0], v[1], v[2], v[3]]),
            _ => f64::from_le_bytes(v) as f32,
        }
    };
    let data = body
        .chunks_exact(size)
        .map(|c| word(c) * slope + inter)
        .collect();
    Ok(Volume {
        dims,
        spacing,
        srow,
        data,
    })
}
