//! A PA hand and wrist: forearm, palm and finger soft tissue; radius, ulna, carpals,
//! metacarpals and phalanges (with joint gaps) as bone. Finger spread, lengths and thickness
//! vary with the RNG. Body coordinates: mm, origin near the middle of the palm, y towards the
//! forearm (down the image), fingers up.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::render::{Bone, Tissue};

/// Anatomy of one hand, in mm.
#[derive(Clone, Debug)]
pub struct Hand {
    /// Soft-tissue capsules: (start x, start y, end x, end y, radius).
    pub soft: Vec<[f64; 5]>,
    /// The bones.
    pub bones: Vec<Bone>,
}

fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

fn tube(a: [f64; 2], b: [f64; 2], ra: f64, rb: f64) -> Bone {
    Bone::Tube {
        points: vec![[a[0], a[1], 0.0], [b[0], b[1], 0.0]],
        radius: vec![ra, rb],
        inner: 0.55,
    }
}

/// Adds a bone of `length` mm from `at` along unit vector `dir`, radii `ra` to `rb` mm, and
/// returns where the next bone starts,, `gap` mm (the joint space) past its end.
fn bone_along(
    bones: &mut Vec<Bone>,
    at: [f64; 2],
    dir: [f64; 2],
    length: f64,
    ra: f64,
    rb: f64,
    gap: f64,
) -> [f64; 2] {
    let end = [at[0] + dir[0] * length, at[1] + dir[1] * length];
    // The tube's ends are round caps of its radius: inset the centreline so the outline
    // spans exactly `at` to `end` and the joint space stays open.
    let a = [at[0] + dir[0] * ra, at[1] + dir[1] * ra];
    let b = [end[0] - dir[0] * rb, end[1] - dir[1] * rb];
    bones.push(tube(a, b, ra, rb));
    [end[0] + dir[0] * gap, end[1] + dir[1] * gap]
}

/// Draws a hand from the RNG.
pub fn hand(rng: &mut ChaCha8Rng) -> Hand {
    let scale = uniform(rng, 0.85, 1.12);
    let mut bones = Vec::new();
    let mut soft = Vec::new();

    // Forearm bones and soft tissue.
    let radius_x = -16.0 * scale;
    let ulna_x = 18.0 * scale;
    bones.push(tube(
        [radius_x * 0.8, 220.0],
        [radius_x, 82.0 * scale],
        9.0 * scale,
        12.0 * scale,
    ));
    bones.push(tube(
        [ulna_x * 0.9, 220.0],
        [ulna_x, 86.0 * scale],
        7.5 * scale,
        7.0 * scale,
    ));
    soft.push([0.0, 240.0, 0.0, 70.0 * scale, 38.0 * scale]);
    soft.push([0.0, 60.0 * scale, 0.0, -22.0 * scale, 42.0 * scale]);

    // Carpals: two rows of small bones.
    for (row_y, xs) in [
        (66.0, [-19.0, -7.0, 5.0, 16.0]),
        (50.0, [-21.0, -9.0, 3.0, 15.0]),
    ] {
        for x in xs {
            let r = uniform(rng, 5.0, 7.0) * scale;
            bones.push(Bone::Ball {
                x: x * scale,
                y: row_y * scale,
                r,
                inner: 0.7,
            });
        }
    }

    // Fingers: index to little, then the thumb.
    let spread = uniform(rng, 0.08, 0.2);
    let lengths = [1.0, 1.08, 1.0, 0.82];
    for (f, &len) in lengths.iter().enumerate() {
        let base = [(-18.0 + 12.0 * f as f64) * scale, 40.0 * scale];
        let angle = (f as f64 - 1.5) * spread + uniform(rng, -0.04, 0.04);
        let dir = [angle.sin(), -angle.cos()];
        let l = len * scale * uniform(rng, 0.95, 1.05);
        let gap = 3.0 * scale;
        let at = bone_along(
            &mut bones,
            base,
            dir,
            58.0 * l,
            5.0 * scale,
            4.5 * scale,
            gap,
        );
        let knuckle = at;
        let at = bone_along(&mut bones, at, dir, 38.0 * l, 5.0 * scale, 4.0 * scale, gap);
        let at = bone_along(&mut bones, at, dir, 23.0 * l, 4.2 * scale, 3.5 * scale, gap);
        let at = bone_along(&mut bones, at, dir, 16.0 * l, 3.6 * scale, 3.0 * scale, gap);
        soft.push([knuckle[0], knuckle[1], at[0], at[1], 9.0 * scale]);
    }
    let thumb = uniform(rng, 0.7, 1.0);
    let dir = [-thumb.sin(), -thumb.cos()];
    let mut at = [-24.0 * scale, 52.0 * scale];
    let start = at;
    for (length, r) in [(42.0, 5.0), (30.0, 4.8), (22.0, 4.0)] {
        at = bone_along(
            &mut bones,
            at,
            dir,
            length * scale,
            r * scale,
            (r - 0.6) * scale,
            3.0 * scale,
        );
    }
    soft.push([start[0], start[1], at[0], at[1], 11.0 * scale]);
    Hand { soft, bones }
}

impl Hand {
    /// Soft tissue along the ray through body point (x, y) mm: the thickest capsule there.
    pub fn tissue(&self, x: f64, y: f64) -> Tissue {
        let mut t: f64 = 0.0;
        for &[ax, ay, bx, by, r] in &self.soft {
            let (dx, dy) = (bx - ax, by - ay);
            let s =
                (((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy).max(1e-9)).clamp(0.0, 1.0);
            let d = ((x - ax - s * dx).powi(2) + (y - ay - s * dy).powi(2)).sqrt();
            if d < r {
                t = t.max(2.0 * (r * r - d * d).sqrt() * 0.8);
            }
        }
        Tissue {
            soft: t as f32,
            lung: 0.0,
        }
    }
}
