//! Seeded synthetic radiographs with exact bone masks: a PA chest and a hand.
//!
//! The same (kind, seed, index, size) gives the same image and mask on every machine: all
//! randomness comes from ChaCha8 streams, and parallel work is combined in a fixed order.
//! Anatomy is drawn in millimetres ([`chest`], [`hand`]) and projected by [`render`].

pub mod chest;
pub mod hand;
pub mod render;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dicom_io::uid::uid_from_rng;
use crate::dicom_io::{Radiograph, SourceInfo};
use render::{Exposure, Pose, Scene, render};

/// Which anatomy to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// PA chest: ribs, clavicles, spine, scapulae, humeral heads, lungs, heart, diaphragm.
    Chest,
    /// PA hand and wrist.
    Hand,
}

/// One generated image: the radiograph (bone bright, with made-up identifiers) and its exact
/// `H x W` label map (0 other, 1 bone).
pub struct Phantom {
    /// The image.
    pub radiograph: Radiograph,
    /// The mask.
    pub mask: Vec<u8>,
}

/// Identifiers for a synthetic image: the given patient name and ID, UIDs drawn from `rng`
/// (so a seeded series repeats them), modality DX, a fixed study date, and square pixels of
/// `px_mm` mm.
pub fn made_up_source(
    rng: &mut ChaCha8Rng,
    patient_name: String,
    patient_id: String,
    body_part: &str,
    px_mm: f64,
) -> SourceInfo {
    SourceInfo {
        patient_name: Some(patient_name),
        patient_id: Some(patient_id),
        study_instance_uid: Some(uid_from_rng(rng)),
        series_instance_uid: Some(uid_from_rng(rng)),
        sop_instance_uid: Some(uid_from_rng(rng)),
        sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.1.1".into()),
        frame_of_reference_uid: Some(uid_from_rng(rng)),
        study_date: Some("20260101".into()),
        study_time: Some("120000".into()),
        modality: Some("DX".into()),
        body_part: Some(body_part.into()),
        pixel_spacing_mm: Some((px_mm, px_mm)),
        ..SourceInfo::default()
    }
}

/// Generates image `index` of the series seeded by `seed`, `width x height` pixels.
pub fn generate(kind: Kind, seed: u64, index: u64, width: usize, height: usize) -> Phantom {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);

    // Field of view and pose.
    let (field_mm, angle) = match kind {
        Kind::Chest => (
            rng.random_range(380.0..440.0),
            rng.random_range(-0.05..0.05),
        ),
        Kind::Hand => (
            rng.random_range(260.0..320.0),
            rng.random_range(-0.25..0.25),
        ),
    };
    let px_mm = field_mm / width.max(1) as f64;
    let offset = (rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03));
    // The chest's origin sits below the image centre so the shoulders and clavicles fit.
    let centre_y = match kind {
        Kind::Chest => 0.58,
        Kind::Hand => 0.5,
    };
    let pose = Pose::new(
        width as f64 * (0.5 + offset.0),
        height as f64 * (centre_y + offset.1),
        px_mm,
        angle,
    );
    let exposure = Exposure {
        photons: rng.random_range(2.0e4..2.0e5),
        blur_px: rng.random_range(0.7..1.6),
        bits: [12, 14, 15, 16][rng.random_range(0..4)],
        heel: rng.random_range(-0.12..0.12),
    };
    let noise_seed = rng.random();

    // Identifiers: deterministic, from the same stream.
    let body_part = match kind {
        Kind::Chest => "CHEST",
        Kind::Hand => "HAND",
    };
    let source = made_up_source(
        &mut rng,
        format!("Phantom^{kind:?}{index}"),
        format!("PHANTOM-{seed}-{index}"),
        body_part,
        px_mm,
    );

    type TissueFn = Box<dyn Fn(f64, f64) -> render::Tissue + Sync>;
    let (bones, tissue): (Vec<render::Bone>, TissueFn) = match kind {
        Kind::Chest => {
            let mut body = chest::chest(&mut rng);
            let bones = std::mem::take(&mut body.bones);
            (bones, Box::new(move |x, y| body.tissue(x, y)))
        }
        Kind::Hand => {
            let mut body = hand::hand(&mut rng);
            let bones = std::mem::take(&mut body.bones);
            (bones, Box::new(move |x, y| body.tissue(x, y)))
        }
    };
    let scene = Scene {
        width,
        height,
        pose,
        bones,
        tissue: &*tissue,
        exposure,
    };
    let rendered = render(&scene, noise_seed);
    Phantom {
        radiograph: Radiograph::from_pixels(width, height, rendered.pixels, exposure.bits, source),
        mask: rendered.mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_image_other_seed_other_image() {
        let a = generate(Kind::Chest, 5, 0, 96, 80);
        let b = generate(Kind::Chest, 5, 0, 96, 80);
        let c = generate(Kind::Chest, 6, 0, 96, 80);
        assert_eq!(a.radiograph.pixels, b.radiograph.pixels);
        assert_eq!(a.mask, b.mask);
        assert_ne!(a.radiograph.pixels, c.radiograph.pixels);
        assert_eq!(
            a.radiograph.source.sop_instance_uid,
            b.radiograph.source.sop_instance_uid
        );
    }

    #[test]
    fn bone_fraction_and_value_range_are_plausible() {
        for kind in [Kind::Chest, Kind::Hand] {
            let p = generate(kind, 1, 0, 200, 160);
            let bone = p.mask.iter().filter(|&&m| m == 1).count();
            assert!(
                bone > 200 && bone < p.mask.len() * 7 / 10,
                "{kind:?}: {bone} bone pixels"
            );
            let max = 1u32 << p.radiograph.bits_stored;
            assert!(p.radiograph.pixels.iter().all(|&v| u32::from(v) < max));
        }
    }
}
