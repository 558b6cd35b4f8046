//! Digitally reconstructed radiographs (DRRs) from a labelled CT: the CT's Hounsfield units
//! become linear attenuation, rays are cast through the volume from a point source (or in
//! parallel), and the mask is the projection of the bone labels. Pose, source distance,
//! contrast, blur and noise vary with the seed.
//!
//! Geometry (mm, volume centre at the origin): the volume's i axis runs across the image,
//! its k axis up the image (the superior end at the top, judged from the sform), and the beam
//! crosses the j axis (anterior-posterior in a CT) from the posterior side. Samples are spaced
//! by the smallest voxel size; HU are read trilinearly, labels at the nearest voxel. What it
//! leaves out: scatter, beam hardening, the CT table (it is projected like the patient).

pub mod nifti;

use std::collections::BTreeSet;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dicom_io::Radiograph;
use crate::phantom::made_up_source;
use crate::phantom::render::{Exposure, expose};
use nifti::Volume;

/// Errors of reading the structures table.
#[derive(Debug, thiserror::Error)]
pub enum StructuresError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The header lacks a `structure` or `id` column, or a row is malformed.
    #[error("{path}: {what}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// Whether a structure name (TotalSegmentator style) is a bone: ribs, vertebrae, sacrum,
/// clavicles, scapulae, humeri, femurs, hips, skull, sternum; cartilage is not.
pub fn is_bone_name(name: &str) -> bool {
    const BONES: [&str; 11] = [
        "rib_",
        "vertebrae",
        "sacrum",
        "clavicula",
        "scapula",
        "humerus",
        "femur",
        "hip_",
        "skull",
        "sternum",
        "clavicle",
    ];
    !name.contains("cartilage") && BONES.iter().any(|b| name.contains(b))
}

/// Reads a `structures.csv` (columns include `structure` and `id`) and returns the label ids
/// whose names are bones, with those names.
pub fn bone_labels(path: &Path) -> Result<Vec<(u16, String)>, StructuresError> {
    let text = std::fs::read_to_string(path).map_err(|source| StructuresError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let fail = |what: String| StructuresError::Format {
        path: path.to_path_buf(),
        what,
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(name_col), Some(id_col)) = (col("structure"), col("id")) else {
        return Err(fail(format!(
            "header {header:?} lacks `structure` and `id` columns"
        )));
    };
    let mut out = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let (Some(name), Some(id)) = (cells.get(name_col), cells.get(id_col)) else {
            return Err(fail(format!("line {}: too few columns", n + 2)));
        };
        let id: u16 = id
            .parse()
            .map_err(|_| fail(format!("line {}: bad id {id:?}", n + 2)))?;
        if is_bone_name(name) {
            out.push((id, name.to_string()));
        }
    }
    Ok(out)
}

/// How one DRR is taken.
#[derive(Clone, Copy, Debug)]
pub struct DrrSetup {
    /// Output width `W` in pixels; the height follows from the volume's aspect.
    pub width: usize,
    /// Source to detector distance, mm; `None` for parallel rays.
    pub source_detector_mm: Option<f64>,
    /// Source to volume centre distance, mm.
    pub source_object_mm: f64,
    /// Rotation about the vertical (k) axis, radians.
    pub yaw: f64,
    /// Tilt about the horizontal (i) axis, radians.
    pub tilt: f64,
    /// Attenuation of water, 1/mm (sets the contrast).
    pub mu_water: f64,
    /// Extra weight on voxels above 200 HU (bone contrast), 1 = physical.
    pub bone_gain: f64,
    /// Detector and noise settings.
    pub exposure: Exposure,
}

impl DrrSetup {
    /// Draws a varied setup from the RNG: yaw within ±6°, tilt within ±4°, source distance
    /// 1000-1800 mm, water attenuation 0.018-0.022 /mm, bone gain 0.9-1.3.
    pub fn random(rng: &mut ChaCha8Rng, width: usize, parallel: bool) -> Self {
        let sdd = rng.random_range(1000.0..1800.0);
        DrrSetup {
            width,
            source_detector_mm: (!parallel).then_some(sdd),
            source_object_mm: sdd * 0.85,
            yaw: rng.random_range(-0.105..0.105),
            tilt: rng.random_range(-0.07..0.07),
            mu_water: rng.random_range(0.018..0.022),
            bone_gain: rng.random_range(0.9..1.3),
            exposure: Exposure {
                photons: rng.random_range(3.0e4..3.0e5),
                blur_px: rng.random_range(0.5..1.3),
                bits: [12, 14, 16][rng.random_range(0..3)],
                heel: rng.random_range(-0.1..0.1),
            },
        }
    }
}

/// A rendered DRR: attenuation sums and the bone mask, `H x W`.
pub struct Projection {
    /// Width `W` in pixels.
    pub width: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Pixel size at the volume centre, mm.
    pub px_mm: f64,
    /// `sum mu * length` along each ray.
    pub attenuation: Vec<f32>,
    /// 1 where the ray crosses a bone label, else 0.
    pub mask: Vec<u8>,
}

/// Trilinear value of `v` at continuous voxel coordinates (voxel centres at integers, the
/// volume spanning -0.5 to n - 0.5, edge voxels extended to the border); `None` outside.
fn trilinear(v: &Volume, p: [f64; 3]) -> Option<f32> {
    let [nx, ny, nz] = v.dims;
    if p.iter()
        .zip([nx, ny, nz])
        .any(|(&c, n)| c < -0.5 || c > n as f64 - 0.5)
    {
        return None;
    }
    let p = [0, 1, 2].map(|a| p[a].clamp(0.0, (v.dims[a] - 1) as f64));
    let base = p.map(|c| c.floor() as usize);
    let i0 = [
        base[0].min(nx.saturating_sub(2)),
        base[1].min(ny.saturating_sub(2)),
        base[2].min(nz.saturating_sub(2)),
    ];
    let f = [0, 1, 2].map(|a| (p[a] - i0[a] as f64) as f32);
    let at = |di: usize, dj: usize, dk: usize| {
        v.at(
            (i0[0] + di).min(nx - 1),
            (i0[1] + dj).min(ny - 1),
            (i0[2] + dk).min(nz - 1),
        )
    };
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let c00 = lerp(at(0, 0, 0), at(1, 0, 0), f[0]);
    let c10 = lerp(at(0, 1, 0), at(1, 1, 0), f[0]);
    let c01 = lerp(at(0, 0, 1), at(1, 0, 1), f[0]);
    let c11 = lerp(at(0, 1, 1), at(1, 1, 1), f[0]);
    Some(lerp(lerp(c00, c10, f[1]), lerp(c01, c11, f[1]), f[2]))
}

/// Casts one ray per pixel through `ct` (HU) and `labels` (ids, same grid), counting a pixel
/// as bone when its ray meets a voxel whose id is in `bone_ids`.
pub fn project(ct: &Volume, labels: &Volume, bone_ids: &BTreeSet<u16>, s: &DrrSetup) -> Projection {
    let sp = ct.spacing;
    let ext = [0, 1, 2].map(|a| ct.dims[a] as f64 * sp[a]);
    let width = s.width.max(1);
    let px_mm = ext[0] * 1.08 / width as f64;
    let height = ((ext[2] * 1.05) / px_mm).ceil().max(1.0) as usize;
    // The superior end goes to the top: k grows upwards when the sform's z row is positive.
    let k_up = ct.srow[2][2] >= 0.0;
    let i_flip = ct.srow[0][0] > 0.0;
    let step = sp.iter().cloned().fold(f64::MAX, f64::min);
    // Bone lookup by label id, so the inner loop does no set search.
    let mut is_bone = vec![false; 65536];
    for &id in bone_ids {
        is_bone[usize::from(id)] = true;
    }
    let (cy, sy) = (s.yaw.cos(), s.yaw.sin());
    let (ct_, st) = (s.tilt.cos(), s.tilt.sin());
    // Lab to volume frame (centred mm): undo the tilt about x, then the yaw about z.
    let to_volume = |p: [f64; 3]| {
        let (x, y, z) = (p[0], p[1] * ct_ + p[2] * st, -p[1] * st + p[2] * ct_);
        [x * cy + y * sy, -x * sy + y * cy, z]
    };
    let max_len = (ext[0] * ext[0] + ext[1] * ext[1] + ext[2] * ext[2]).sqrt();
    let label_at = |q: [f64; 3]| {
        let idx = q.map(|c| c.round());
        if idx
            .iter()
            .zip(labels.dims)
            .any(|(&c, n)| c < 0.0 || c >= n as f64)
        {
            return false;
        }
        let v = labels.at(idx[0] as usize, idx[1] as usize, idx[2] as usize);
        v > 0.5 && v < 65535.5 && is_bone[v.round() as usize]
    };

    let mut attenuation = vec![0f32; width * height];
    let mut mask = vec![0u8; width * height];
    attenuation
        .par_chunks_mut(width)
        .zip(mask.par_chunks_mut(width))
        .enumerate()
        .for_each(|(row, (att_row, mask_row))| {
            for col in 0..width {
                let u = (col as f64 + 0.5 - width as f64 / 2.0) * px_mm;
                let v = (height as f64 / 2.0 - row as f64 - 0.5) * px_mm;
                let x = if i_flip { -u } else { u };
                let z = if k_up { v } else { -v };
                // Lab frame: beam along +y, from the posterior side.
                let (origin, dir) = match s.source_detector_mm {
                    Some(_) => {
                        let src = [0.0, -s.source_object_mm, 0.0];
                        let to = [x, 0.0, z];
                        let d = [to[0] - src[0], to[1] - src[1], to[2] - src[2]];
                        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                        (src, d.map(|c| c / n))
                    }
                    None => ([x, -s.source_object_mm, z], [0.0, 1.0, 0.0]),
                };
                let (o, d) = (to_volume(origin), to_volume(dir));
                // Clip the ray to the volume's box (slab method), then march.
                let (mut t0, mut t1) = (0.0f64, s.source_object_mm + max_len);
                for a in 0..3 {
                    let half = ext[a] / 2.0;
                    if d[a].abs() < 1e-12 {
                        if o[a].abs() > half {
                            t1 = -1.0;
                        }
                        continue;
                    }
                    let (ta, tb) = ((-half - o[a]) / d[a], (half - o[a]) / d[a]);
                    t0 = t0.max(ta.min(tb));
                    t1 = t1.min(ta.max(tb));
                }
                let (mut sum, mut bone) = (0.0f64, false);
                let mut t = t0 + step / 2.0;
                while t < t1 {
                    let p = [0, 1, 2].map(|a| (o[a] + d[a] * t + ext[a] / 2.0) / sp[a] - 0.5);
                    if let Some(hu) = trilinear(ct, p) {
                        let mut mu = s.mu_water * (1.0 + f64::from(hu) / 1000.0).max(0.0);
                        if hu > 200.0 {
                            mu *= s.bone_gain;
                        }
                        sum += mu * step;
                        if !bone {
                            bone = label_at(p);
                        }
                    }
                    t += step;
                }
                att_row[col] = sum as f32;
                mask_row[col] = u8::from(bone);
            }
        });
    Projection {
        width,
        height,
        px_mm,
        attenuation,
        mask,
    }
}

/// Renders DRR `index` of the series seeded by `seed`: a varied setup, the projection, and
/// the exposed radiograph with made-up identifiers. Returns the radiograph and its mask.
pub fn render_drr(
    ct: &Volume,
    labels: &Volume,
    bone_ids: &BTreeSet<u16>,
    seed: u64,
    index: u64,
    width: usize,
    parallel: bool,
) -> (Radiograph, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let setup = DrrSetup::random(&mut rng, width, parallel);
    let p = project(ct, labels, bone_ids, &setup);
    let pixels = expose(
        &p.attenuation,
        p.width,
        p.height,
        &setup.exposure,
        rng.random(),
    );
    let source = made_up_source(
        &mut rng,
        format!("DRR^{index}"),
        format!("DRR-{seed}-{index}"),
        "CHEST",
        p.px_mm,
    );
    let r = Radiograph::from_pixels(p.width, p.height, pixels, setup.exposure.bits, source);
    (r, p.mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bone_names() {
        for bone in [
            "rib_left_1",
            "vertebrae_T4",
            "clavicula_left",
            "scapula_right",
            "sternum",
        ] {
            assert!(is_bone_name(bone), "{bone}");
        }
        for other in [
            "costal_cartilages",
            "heart",
            "lung_upper_lobe_left",
            "aorta",
        ] {
            assert!(!is_bone_name(other), "{other}");
        }
    }

    /// A 20^3 water cube of 1 mm voxels with a 4x20x4 bone bar (label 7) through its middle.
    fn cube() -> (Volume, Volume) {
        let n = 20;
        let mut ct = vec![0f32; n * n * n];
        let mut lab = vec![0f32; n * n * n];
        for k in 8..12 {
            for j in 0..n {
                for i in 8..12 {
                    ct[i + n * (j + n * k)] = 1000.0;
                    lab[i + n * (j + n * k)] = 7.0;
                }
            }
        }
        let srow = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let vol = |data| Volume {
            dims: [n; 3],
            spacing: [1.0; 3],
            srow,
            data,
        };
        (vol(ct), vol(lab))
    }

    #[test]
    fn parallel_projection_of_a_bar() {
        let (ct, lab) = cube();
        let setup = DrrSetup {
            width: 54,
            source_detector_mm: None,
            source_object_mm: 500.0,
            yaw: 0.0,
            tilt: 0.0,
            mu_water: 0.02,
            bone_gain: 1.0,
            exposure: Exposure {
                photons: 1e5,
                blur_px: 0.0,
                bits: 12,
                heel: 0.0,
            },
        };
        let p = project(&ct, &lab, &BTreeSet::from([7]), &setup);
        // 20 mm * 1.08 over 54 pixels: 0.4 mm pixels; the bar spans x, z in [-2, 2] mm.
        assert!((p.px_mm - 0.4).abs() < 1e-9);
        let (cx, cy) = (p.width / 2, p.height / 2);
        assert_eq!(p.mask[cy * p.width + cx], 1);
        assert_eq!(
            p.mask[cy * p.width + cx + 8],
            0,
            "4 mm off centre is outside the bar"
        );
        let (bar, water) = (
            p.attenuation[cy * p.width + cx],
            p.attenuation[cy * p.width + cx + 8],
        );
        // Through 20 mm: water 0.02 * 20 = 0.4, bone (1000 HU) twice that.
        assert!((water - 0.4).abs() < 0.03, "water {water}");
        assert!((bar - 0.8).abs() < 0.05, "bar {bar}");
        // Nothing outside the cube.
        assert_eq!(p.attenuation[0], 0.0);
    }
}
