//! A PA chest: torso, lungs, heart and diaphragm as soft tissue; ribs (posterior and anterior
//! arcs, as one 3-D curved tube each), clavicles, thoracic vertebrae, scapulae and humeral
//! heads as bone. Every size and position varies with the RNG.
//!
//! Body coordinates: mm, origin at the middle of the chest, x to the image's right, y down,
//! z towards the detector's back (posterior negative).

use std::f64::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::render::{Bone, Tissue};

/// Anatomy of one chest, in mm.
#[derive(Clone, Debug)]
pub struct Chest {
    /// Half width of the torso.
    pub half_width: f64,
    /// Half depth of the torso along the beam.
    pub half_depth: f64,
    /// Row of the shoulders (torso narrows to the neck above it).
    pub shoulder_y: f64,
    /// Lung centres' |x|, centre y, half width, half height, half depth.
    pub lung: [f64; 5],
    /// Height of the diaphragm domes' tops (y) and how much they rise.
    pub diaphragm: [f64; 2],
    /// Heart centre x, y and half sizes x, y, z.
    pub heart: [f64; 5],
    /// The bones.
    pub bones: Vec<Bone>,
}

fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

/// A rib of one side (`side` = -1 or 1) as its posterior and anterior arcs.
fn rib(rng: &mut ChaCha8Rng, side: f64, k: usize, y_head: f64, cage: f64, drop: f64) -> [Bone; 2] {
    // Cage half width at this rib: narrow at the top, widest around ribs 7-9.
    let kf = k as f64;
    let a = cage * (0.42 + 0.58 * (1.0 - ((kf - 8.0) / 8.5).powi(2)).max(0.0).sqrt());
    let c = a * uniform(rng, 0.55, 0.7);
    let hump = uniform(rng, 6.0, 14.0) * (1.0 - kf / 14.0);
    let r = uniform(rng, 4.0, 5.5) + 0.15 * kf.min(6.0);
    // Floating ribs (11, 12) stop laterally; the others reach towards the front.
    let end = if k >= 10 {
        uniform(rng, 0.55, 0.7) * PI
    } else {
        uniform(rng, 0.74, 0.82) * PI
    };
    let point = |t: f64| {
        let x = side * (14.0 + a * t.sin());
        let y = y_head + drop * (1.0 - t.cos()) / 2.0 - hump * (2.0 * t).sin().max(0.0);
        let z = -c * t.cos();
        [x, y, z]
    };
    let arc = |t0: f64, t1: f64, steps: usize| {
        let points: Vec<[f64; 3]> = (0..=steps)
            .map(|s| point(t0 + (t1 - t0) * s as f64 / steps as f64))
            .collect();
        // Ribs thin towards the front.
        let radius = (0..=steps)
            .map(|s| r * (1.0 - 0.25 * (t0 + (t1 - t0) * s as f64 / steps as f64) / PI))
            .collect();
        Bone::Tube {
            points,
            radius,
            inner: 0.62,
        }
    };
    let mid = (PI / 2.0).min(end);
    [arc(0.08, mid, 20), arc(mid, end, 14)]
}

/// Draws a chest from the RNG.
pub fn chest(rng: &mut ChaCha8Rng) -> Chest {
    let half_width = uniform(rng, 140.0, 172.0);
    let half_depth = uniform(rng, 95.0, 125.0);
    let shoulder_y = uniform(rng, -175.0, -155.0);
    let cage = half_width - uniform(rng, 12.0, 22.0);
    let mut bones = Vec::new();

    // Ribs: 12 per side, posterior heads spaced down the spine.
    let spacing = uniform(rng, 19.0, 25.0);
    let top = shoulder_y + uniform(rng, 18.0, 30.0);
    let drop = uniform(rng, 55.0, 95.0);
    for side in [-1.0, 1.0] {
        for k in 0..12 {
            let y = top + spacing * k as f64 + uniform(rng, -2.0, 2.0);
            bones.extend(rib(rng, side, k, y, cage, drop * (0.6 + 0.04 * k as f64)));
        }
    }

    // Thoracic and first lumbar vertebrae with pedicles.
    let mut y = shoulder_y - 10.0;
    for k in 0..14 {
        let kf = k as f64;
        let hh = 8.0 + 0.45 * kf + uniform(rng, -0.5, 0.5);
        let hw = 15.0 + 1.0 * kf + uniform(rng, -1.0, 1.0);
        bones.push(Bone::Block {
            x: 0.0,
            y: y + hh,
            hw,
            hh,
            depth: 28.0 + kf,
            shell: 1.2,
        });
        for side in [-1.0, 1.0] {
            bones.push(Bone::Ball {
                x: side * hw * 0.7,
                y: y + hh * 0.6,
                r: 4.0,
                inner: 0.4,
            });
        }
        y += 2.0 * hh + uniform(rng, 4.0, 6.5);
    }

    // Clavicles: S-shaped tubes from the sternal to the acromial end.
    for side in [-1.0, 1.0] {
        let y0 = shoulder_y + uniform(rng, 20.0, 32.0);
        let y1 = shoulder_y + uniform(rng, -5.0, 8.0);
        let x1 = half_width - uniform(rng, 5.0, 18.0);
        let steps = 16;
        let points = (0..=steps)
            .map(|s| {
                let t = s as f64 / steps as f64;
                let x = side * (18.0 + (x1 - 18.0) * t);
                [x, y0 + (y1 - y0) * t + 6.0 * (2.0 * PI * t).sin(), 40.0]
            })
            .collect();
        let radius = (0..=steps)
            .map(|s| 7.5 - 2.5 * s as f64 / steps as f64)
            .collect();
        bones.push(Bone::Tube {
            points,
            radius,
            inner: 0.55,
        });
    }

    // Scapulae: triangular plates over the upper lateral ribs, and humeral heads.
    for side in [-1.0, 1.0] {
        let lat = half_width + uniform(rng, -8.0, 4.0);
        let corners = vec![
            [side * (lat - 55.0), shoulder_y + 8.0],
            [side * (lat - 2.0), shoulder_y + 18.0],
            [side * (lat - 40.0), shoulder_y + uniform(rng, 150.0, 185.0)],
        ];
        bones.push(Bone::Plate {
            corners,
            thickness: 3.0,
            rim: 4.0,
            rim_width: 6.0,
        });
        let head = [
            side * (lat + uniform(rng, 8.0, 18.0)),
            shoulder_y + uniform(rng, 20.0, 32.0),
        ];
        let hr = uniform(rng, 20.0, 26.0);
        bones.push(Bone::Ball {
            x: head[0],
            y: head[1],
            r: hr,
            inner: 0.8,
        });
        let shaft_end = [head[0] + side * 25.0, head[1] + 260.0, 0.0];
        bones.push(Bone::Tube {
            points: vec![[head[0], head[1] + hr * 0.5, 0.0], shaft_end],
            radius: vec![hr * 0.6, 11.0],
            inner: 0.6,
        });
    }

    let lung_x = uniform(rng, 65.0, 85.0);
    Chest {
        half_width,
        half_depth,
        shoulder_y,
        lung: [
            lung_x,
            uniform(rng, -10.0, 10.0),
            cage - lung_x + uniform(rng, -4.0, 2.0),
            uniform(rng, 120.0, 145.0),
            half_depth * 0.62,
        ],
        diaphragm: [uniform(rng, 70.0, 110.0), uniform(rng, 18.0, 32.0)],
        heart: [
            uniform(rng, 15.0, 35.0),
            uniform(rng, 50.0, 75.0),
            uniform(rng, 60.0, 78.0),
            uniform(rng, 50.0, 65.0),
            half_depth * 0.5,
        ],
        bones,
    }
}

/// Thickness of an ellipsoid of half sizes (a, b, c) along z at offset (dx, dy) from its
/// centre.
fn ellipsoid(dx: f64, dy: f64, a: f64, b: f64, c: f64) -> f64 {
    let q = (dx / a).powi(2) + (dy / b).powi(2);
    if q < 1.0 {
        2.0 * c * (1.0 - q).sqrt()
    } else {
        0.0
    }
}

impl Chest {
    /// Soft tissue and lung along the ray through body point (x, y) mm.
    pub fn tissue(&self, x: f64, y: f64) -> Tissue {
        // Torso: an elliptic cylinder narrowing to the neck above the shoulders; arms
        // alongside.
        let blend = ((self.shoulder_y - y) / 45.0).clamp(0.0, 1.0);
        let half_w = self.half_width * (1.0 - blend) + 55.0 * blend;
        let across = 1.0 - (x / half_w).powi(2);
        let mut soft = if across > 0.0 {
            2.0 * self.half_depth * across.sqrt()
        } else {
            0.0
        };
        let arm_x = self.half_width + 42.0;
        let arm = 1.0 - ((x.abs() - arm_x) / 45.0).powi(2);
        if arm > 0.0 && y > self.shoulder_y - 10.0 {
            soft += 2.0 * 45.0 * arm.sqrt();
        }

        // Lungs, cut below by the diaphragm domes, minus the heart in front of them.
        let [lx, ly, la, lb, lc] = self.lung;
        let [dome_y, rise] = self.diaphragm;
        let mut lung = 0.0;
        for side in [-1.0, 1.0] {
            let dx = x - side * lx;
            let dome = dome_y - rise * (1.0 - (dx / la).powi(2)).max(0.0);
            if y < dome {
                lung += ellipsoid(dx, y - ly, la, lb, lc) * ((dome - y) / 12.0).min(1.0);
            }
        }
        let [hx, hy, ha, hb, hc] = self.heart;
        lung = (lung - ellipsoid(x - hx, y - hy, ha, hb, hc))
            .max(0.0)
            .min(soft);
        Tissue {
            soft: (soft - lung) as f32,
            lung: lung as f32,
        }
    }
}
