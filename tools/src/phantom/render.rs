//! The radiograph physics shared by every phantom: bone shapes turned into projected
//! thickness maps, soft tissue, attenuation along parallel rays, detector blur, quantum noise
//! and quantisation to 12-16 bits.
//!
//! Units: body coordinates are millimetres (x to the image's right, y down, z along the beam);
//! thickness is millimetres along the ray; attenuation coefficients are per millimetre. Each
//! pixel is one ray through its centre, so the mask is exact: a pixel is bone iff the bone
//! thickness along its ray is positive. What this leaves out on purpose: scatter, beam
//! hardening, the cone-beam magnification of a real source (rays are parallel).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Linear attenuation of soft tissue, 1/mm (water at about 60 keV).
pub const MU_SOFT: f32 = 0.020;
/// Linear attenuation of aerated lung, 1/mm.
pub const MU_LUNG: f32 = 0.005;
/// Extra attenuation of cortical bone over the soft tissue it displaces, 1/mm.
pub const MU_CORTEX_EXTRA: f32 = 0.036;
/// Extra attenuation of cancellous bone and marrow over soft tissue, 1/mm.
pub const MU_MARROW_EXTRA: f32 = 0.008;

/// Maps body millimetres to pixel coordinates: rotation about the image point
/// `(cx, cy)` (pixels) by `angle` radians, `px_mm` millimetres per pixel.
#[derive(Clone, Copy, Debug)]
pub struct Pose {
    /// Pixel column of the body origin.
    pub cx: f64,
    /// Pixel row of the body origin.
    pub cy: f64,
    /// Millimetres per pixel.
    pub px_mm: f64,
    cos: f64,
    sin: f64,
}

impl Pose {
    /// A pose with the body origin at pixel `(cx, cy)`, rotated by `angle` radians.
    pub fn new(cx: f64, cy: f64, px_mm: f64, angle: f64) -> Self {
        Pose {
            cx,
            cy,
            px_mm,
            cos: angle.cos(),
            sin: angle.sin(),
        }
    }

    /// Body (x, y) in mm to pixel (column, row).
    pub fn to_px(&self, x: f64, y: f64) -> (f64, f64) {
        let (u, v) = (x / self.px_mm, y / self.px_mm);
        (
            self.cx + u * self.cos - v * self.sin,
            self.cy + u * self.sin + v * self.cos,
        )
    }

    /// Pixel (column, row) to body (x, y) in mm.
    pub fn to_body(&self, px: f64, py: f64) -> (f64, f64) {
        let (u, v) = (px - self.cx, py - self.cy);
        (
            (u * self.cos + v * self.sin) * self.px_mm,
            (-u * self.sin + v * self.cos) * self.px_mm,
        )
    }
}

/// One bone, in body millimetres.
#[derive(Clone, Debug)]
pub enum Bone {
    /// A tube along a 3-D polyline (x, y, z in mm) with a radius (mm) at each point; a hollow
    /// core of `inner` times the radius holds marrow. Its projected thickness at a pixel is the
    /// chord through the tube, lengthened where the tube runs along the beam.
    Tube {
        /// Centreline points.
        points: Vec<[f64; 3]>,
        /// Radius at each point, mm.
        radius: Vec<f64>,
        /// Marrow radius as a fraction of the radius, in `[0, 1)`.
        inner: f64,
    },
    /// A ball of radius `r` mm centred at (x, y) mm, marrow inside `inner * r`.
    Ball {
        /// Centre x, mm.
        x: f64,
        /// Centre y, mm.
        y: f64,
        /// Radius, mm.
        r: f64,
        /// Marrow radius fraction.
        inner: f64,
    },
    /// A flat plate over a convex polygon (mm, any winding): `thickness` mm of cancellous
    /// bone plus a cortical rim `rim` mm thick that fades over `rim_width` mm from the edge.
    Plate {
        /// Polygon corners.
        corners: Vec<[f64; 2]>,
        /// Plate thickness, mm.
        thickness: f64,
        /// Extra cortical thickness at the edge, mm.
        rim: f64,
        /// Distance over which the rim fades, mm.
        rim_width: f64,
    },
    /// A vertebral body: a rounded box (superellipse of power 4) of half sizes `hw` x `hh`
    /// mm, `depth` mm deep along the beam, with a cortical shell `shell` mm thick.
    Block {
        /// Centre x, mm.
        x: f64,
        /// Centre y, mm.
        y: f64,
        /// Half width, mm.
        hw: f64,
        /// Half height, mm.
        hh: f64,
        /// Depth along the beam, mm.
        depth: f64,
        /// Shell thickness, mm.
        shell: f64,
    },
}

/// Bone thickness of one bone over its pixel bounding box: `cortex` and `marrow` in mm,
/// `bw x bh` row-major from pixel (x0, y0).
struct Patch {
    x0: usize,
    y0: usize,
    bw: usize,
    cortex: Vec<f32>,
    marrow: Vec<f32>,
}

/// Chord of a disc of radius `r` at distance `d` from its centre (0 outside).
fn chord(r: f64, d: f64) -> f64 {
    if d < r {
        2.0 * (r * r - d * d).sqrt()
    } else {
        0.0
    }
}

/// The pixel box `[x0, x1) x [y0, y1)` covering body points within `margin` mm of a pixel box
/// spanned by `pts` (pixel coordinates), clipped to the image; `None` when empty.
fn pixel_box(pts: &[(f64, f64)], margin_px: f64, w: usize, h: usize) -> Option<[usize; 4]> {
    let (mut lx, mut ly, mut hx, mut hy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in pts {
        lx = lx.min(x);
        ly = ly.min(y);
        hx = hx.max(x);
        hy = hy.max(y);
    }
    let x0 = (lx - margin_px).floor().max(0.0) as usize;
    let y0 = (ly - margin_px).floor().max(0.0) as usize;
    let x1 = ((hx + margin_px).ceil() + 1.0).min(w as f64).max(0.0) as usize;
    let y1 = ((hy + margin_px).ceil() + 1.0).min(h as f64).max(0.0) as usize;
    (x0 < x1 && y0 < y1).then_some([x0, y0, x1, y1])
}

impl Patch {
    fn new(b: [usize; 4]) -> Self {
        let n = (b[2] - b[0]) * (b[3] - b[1]);
        Patch {
            x0: b[0],
            y0: b[1],
            bw: b[2] - b[0],
            cortex: vec![0.0; n],
            marrow: vec![0.0; n],
        }
    }

    fn rows(&self) -> usize {
        self.cortex.len() / self.bw.max(1)
    }

    /// Keeps the larger thickness at local pixel `i` (overlapping pieces of one bone do not
    /// add up).
    fn keep_max(&mut self, i: usize, cortex: f64, marrow: f64) {
        if cortex + marrow > f64::from(self.cortex[i] + self.marrow[i]) {
            self.cortex[i] = cortex as f32;
            self.marrow[i] = marrow as f32;
        }
    }
}

/// Renders one bone into a patch, or `None` when it is outside the image.
fn render_bone(bone: &Bone, pose: &Pose, w: usize, h: usize) -> Option<Patch> {
    let mm = pose.px_mm;
    match bone {
        Bone::Tube {
            points,
            radius,
            inner,
        } => {
            let px: Vec<(f64, f64)> = points.iter().map(|p| pose.to_px(p[0], p[1])).collect();
            let rmax = radius.iter().cloned().fold(0.0, f64::max) / mm;
            let mut patch = Patch::new(pixel_box(&px, rmax + 1.0, w, h)?);
            for s in 0..points.len().saturating_sub(1) {
                let (a, b) = (px[s], px[s + 1]);
                let (ra, rb) = (radius[s] / mm, radius[s + 1] / mm);
                // Lengthening where the tube runs along the beam, capped at 2x: the cap stands in
                // for the curvature that bounds a real rib seen end-on.
                let d3 = [
                    points[s + 1][0] - points[s][0],
                    points[s + 1][1] - points[s][1],
                    points[s + 1][2] - points[s][2],
                ];
                let len3 = (d3[0] * d3[0] + d3[1] * d3[1] + d3[2] * d3[2])
                    .sqrt()
                    .max(1e-9);
                let tz = d3[2] / len3;
                let stretch = 1.0 / (1.0 - tz * tz).max(0.25).sqrt();
                let Some(bx) = pixel_box(&[a, b], ra.max(rb) + 1.0, w, h) else {
                    continue;
                };
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len2 = (dx * dx + dy * dy).max(1e-12);
                for y in bx[1]..bx[3] {
                    for x in bx[0]..bx[2] {
                        let (qx, qy) = (x as f64 + 0.5 - a.0, y as f64 + 0.5 - a.1);
                        let t = ((qx * dx + qy * dy) / len2).clamp(0.0, 1.0);
                        let (ex, ey) = (qx - t * dx, qy - t * dy);
                        let d = (ex * ex + ey * ey).sqrt();
                        let r = ra + t * (rb - ra);
                        if d >= r {
                            continue;
                        }
                        let outer = chord(r, d) * mm * stretch;
                        let core = chord(r * inner, d) * mm * stretch;
                        let i = (y - patch.y0) * patch.bw + (x - patch.x0);
                        patch.keep_max(i, outer - core, core);
                    }
                }
            }
            Some(patch)
        }
        Bone::Ball { x, y, r, inner } => {
            let c = pose.to_px(*x, *y);
            let rp = r / mm;
            let mut patch = Patch::new(pixel_box(&[c], rp + 1.0, w, h)?);
            for j in 0..patch.rows() {
                for i in 0..patch.bw {
                    let (qx, qy) = ((patch.x0 + i) as f64 + 0.5, (patch.y0 + j) as f64 + 0.5);
                    let d = ((qx - c.0).powi(2) + (qy - c.1).powi(2)).sqrt();
                    if d < rp {
                        let outer = chord(rp, d) * mm;
                        let core = chord(rp * inner, d) * mm;
                        patch.keep_max(j * patch.bw + i, outer - core, core);
                    }
                }
            }
            Some(patch)
        }
        Bone::Plate {
            corners,
            thickness,
            rim,
            rim_width,
        } => {
            let px: Vec<(f64, f64)> = corners.iter().map(|p| pose.to_px(p[0], p[1])).collect();
            let mut patch = Patch::new(pixel_box(&px, 1.0, w, h)?);
            let n = px.len();
            // Orientation of the polygon, so "inside" is on the same side of every edge.
            let area: f64 = (0..n)
                .map(|k| px[k].0 * px[(k + 1) % n].1 - px[(k + 1) % n].0 * px[k].1)
                .sum();
            let sign = if area >= 0.0 { 1.0 } else { -1.0 };
            for j in 0..patch.rows() {
                for i in 0..patch.bw {
                    let (qx, qy) = ((patch.x0 + i) as f64 + 0.5, (patch.y0 + j) as f64 + 0.5);
                    let mut dmin = f64::MAX;
                    for k in 0..n {
                        let (a, b) = (px[k], px[(k + 1) % n]);
                        let (ex, ey) = (b.0 - a.0, b.1 - a.1);
                        let cross = (ex * (qy - a.1) - ey * (qx - a.0)) * sign;
                        dmin = dmin.min(cross / (ex * ex + ey * ey).sqrt().max(1e-12));
                    }
                    if dmin > 0.0 {
                        let edge_mm = dmin * mm;
                        let cortex = rim * (-edge_mm / rim_width.max(1e-6)).exp();
                        // Thin out towards the edge so the plate has no step.
                        let taper = (edge_mm / 2.0).min(1.0);
                        patch.keep_max(j * patch.bw + i, cortex * taper, thickness * taper);
                    }
                }
            }
            Some(patch)
        }
        Bone::Block {
            x,
            y,
            hw,
            hh,
            depth,
            shell,
        } => {
            let corners = [(-hw, -hh), (*hw, -hh), (*hw, *hh), (-hw, *hh)]
                .map(|(dx, dy)| pose.to_px(x + dx, y + dy));
            let mut patch = Patch::new(pixel_box(&corners, 1.0, w, h)?);
            for j in 0..patch.rows() {
                for i in 0..patch.bw {
                    let (qx, qy) = ((patch.x0 + i) as f64 + 0.5, (patch.y0 + j) as f64 + 0.5);
                    let (bx, by) = pose.to_body(qx, qy);
                    let q = ((bx - x) / hw).powi(4) + ((by - y) / hh).powi(4);
                    if q < 1.0 {
                        let total = depth * (1.0 - q).sqrt();
                        let cortex = (2.0 * shell).min(total);
                        patch.keep_max(j * patch.bw + i, cortex, total - cortex);
                    }
                }
            }
            Some(patch)
        }
    }
}

/// Soft tissue along the ray through body point (x, y) mm.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tissue {
    /// Soft tissue (water-like) thickness, mm.
    pub soft: f32,
    /// Aerated lung thickness, mm.
    pub lung: f32,
}

/// Detector and exposure settings of one image.
#[derive(Clone, Copy, Debug)]
pub struct Exposure {
    /// Expected photon count per pixel with nothing in the beam.
    pub photons: f64,
    /// Standard deviation of the detector's Gaussian blur, pixels.
    pub blur_px: f64,
    /// Bits stored in the output, 12..=16.
    pub bits: u16,
    /// Relative change of the photon count from top to bottom row (anode heel effect).
    pub heel: f64,
}

/// Everything needed to render one image.
pub struct Scene<'a> {
    /// Width `W` in pixels.
    pub width: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Body-to-pixel mapping.
    pub pose: Pose,
    /// The bones.
    pub bones: Vec<Bone>,
    /// Soft tissue at a body point (mm).
    pub tissue: &'a (dyn Fn(f64, f64) -> Tissue + Sync),
    /// Detector settings.
    pub exposure: Exposure,
}

/// A rendered image: `H x W` stored values (bone bright) and the exact `H x W` label map.
pub struct Rendered {
    /// Stored values in `0 .. 2^bits`.
    pub pixels: Vec<u16>,
    /// 1 where bone thickness along the ray is positive, else 0.
    pub mask: Vec<u8>,
}

/// Separable Gaussian blur of an `H x W` image, edges clamped.
fn blur(img: &mut [f32], w: usize, h: usize, sigma: f64) {
    if sigma <= 0.05 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    let mut tmp = vec![0f32; img.len()];
    tmp.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let xx = (x as isize + k as isize - radius).clamp(0, w as isize - 1) as usize;
                acc += kv * img[y * w + xx];
            }
            *out = acc;
        }
    });
    img.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let yy = (y as isize + k as isize - radius).clamp(0, h as isize - 1) as usize;
                acc += kv * tmp[yy * w + x];
            }
            *out = acc;
        }
    });
}

/// Turns an `H x W` map of attenuation along each ray (dimensionless, `sum mu * length`) into
/// stored detector values: expected photon counts with the heel effect, detector blur,
/// quantum noise (Gaussian approximation of Poisson, one ChaCha8 stream per row), the log
/// transform, and quantisation to `exposure.bits` bits so that more attenuation (bone) is
/// brighter. Deterministic for a given `noise_seed` whatever the thread count.
pub fn expose(attenuation: &[f32], w: usize, h: usize, e: &Exposure, noise_seed: u64) -> Vec<u16> {
    let n = w * h;
    let (a_lo, a_hi) = attenuation
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &a| (lo.min(a), hi.max(a)));
    let mut counts: Vec<f32> = attenuation
        .par_chunks(w)
        .enumerate()
        .flat_map_iter(|(y, row)| {
            let heel = 1.0 + e.heel * (y as f64 / h.max(1) as f64 - 0.5);
            row.iter()
                .map(move |&a| (e.photons * heel * (-f64::from(a)).exp()) as f32)
        })
        .collect();
    blur(&mut counts, w, h, e.blur_px);

    // Quantum noise (Gaussian approximation of Poisson), one RNG stream per row, then the
    // log transform: stored value grows with attenuation, so bone is bright.
    let max_value = f64::from((1u32 << e.bits.clamp(1, 16)) - 1);
    let lo = f64::from(a_lo) - 0.05;
    let span = (f64::from(a_hi) - lo + 0.25).max(1e-6);
    let mut pixels = vec![0u16; n];
    pixels.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        let mut rng = ChaCha8Rng::seed_from_u64(noise_seed);
        rng.set_stream(y as u64);
        let heel = 1.0 + e.heel * (y as f64 / h.max(1) as f64 - 0.5);
        for (x, out) in row.iter_mut().enumerate() {
            let expected = f64::from(counts[y * w + x]);
            let measured = (expected + expected.sqrt() * normal(&mut rng)).max(0.5);
            let a = -(measured / (e.photons * heel)).ln();
            *out = (((a - lo) / span).clamp(0.0, 1.0) * max_value).round() as u16;
        }
    });
    pixels
}

/// A standard normal sample (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Renders a scene. `noise_seed` seeds the quantum noise; the result depends only on the
/// scene and the seed, not on the number of threads.
pub fn render(scene: &Scene, noise_seed: u64) -> Rendered {
    let (w, h) = (scene.width, scene.height);
    let n = w * h;

    // Bone thickness: each bone into its own patch (in parallel), then summed in order.
    let patches: Vec<Patch> = scene
        .bones
        .par_iter()
        .filter_map(|b| render_bone(b, &scene.pose, w, h))
        .collect();
    let mut cortex = vec![0f32; n];
    let mut marrow = vec![0f32; n];
    for p in &patches {
        for j in 0..p.rows() {
            let dst = (p.y0 + j) * w + p.x0;
            for i in 0..p.bw {
                cortex[dst + i] += p.cortex[j * p.bw + i];
                marrow[dst + i] += p.marrow[j * p.bw + i];
            }
        }
    }
    let mask: Vec<u8> = cortex
        .iter()
        .zip(&marrow)
        .map(|(&c, &m)| u8::from(c + m > 0.0))
        .collect();

    // Attenuation along each ray, then the expected photon count.
    let mut attenuation = vec![0f32; n];
    attenuation
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, a) in row.iter_mut().enumerate() {
                let (bx, by) = scene.pose.to_body(x as f64 + 0.5, y as f64 + 0.5);
                let t = (scene.tissue)(bx, by);
                let i = y * w + x;
                *a = MU_SOFT * t.soft
                    + MU_LUNG * t.lung
                    + MU_CORTEX_EXTRA * cortex[i]
                    + MU_MARROW_EXTRA * marrow[i];
            }
        });
    let pixels = expose(&attenuation, w, h, &scene.exposure, noise_seed);
    Rendered { pixels, mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(bones: Vec<Bone>) -> Rendered {
        let tissue = |_: f64, _: f64| Tissue {
            soft: 50.0,
            lung: 0.0,
        };
        let s = Scene {
            width: 40,
            height: 30,
            pose: Pose::new(20.0, 15.0, 1.0, 0.0),
            bones,
            tissue: &tissue,
            exposure: Exposure {
                photons: 1e6,
                blur_px: 0.0,
                bits: 12,
                heel: 0.0,
            },
        };
        render(&s, 1)
    }

    #[test]
    fn tube_mask_is_its_projected_outline() {
        // A horizontal tube of radius 3 mm at 1 mm/pixel, centre row at y = 15.5 px.
        let tube = Bone::Tube {
            points: vec![[-10.0, 0.5, 0.0], [10.0, 0.5, 0.0]],
            radius: vec![3.0, 3.0],
            inner: 0.5,
        };
        let r = scene(vec![tube]);
        for y in 0..30 {
            // Pixel centres at y + 0.5; bone where |y + 0.5 - 15.5| < 3.
            let expect = u8::from(((y as f64 + 0.5) - 15.5).abs() < 3.0);
            assert_eq!(r.mask[y * 40 + 20], expect, "row {y}");
        }
        // Bone is brighter than the soft tissue beside it.
        assert!(r.pixels[15 * 40 + 20] > r.pixels[5 * 40 + 20]);
    }

    #[test]
    fn pose_round_trips() {
        let p = Pose::new(100.0, 50.0, 0.14, 0.07);
        let (px, py) = p.to_px(12.0, -30.0);
        let (x, y) = p.to_body(px, py);
        assert!((x - 12.0).abs() < 1e-9 && (y + 30.0).abs() < 1e-9);
    }
}
