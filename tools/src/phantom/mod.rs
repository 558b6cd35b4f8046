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
    let source = SourceInfo {
        patient_name: Some(format!("Phantom^{kind:?}{index}")),
        patient_id: Some(format!("PHANTOM-{seed}-{index}")),
        study_instance_uid: Some(uid_from_rng(&mut rng)),
        series_instance_uid: Some(uid_from_rng(&mut rng)),
        sop_instance_uid: Some(uid_from_rng(&mut rng)),
        sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.1.1".into()),
        frame_of_reference_uid: Some(uid_from_rng(&mut rng)),
        study_date: Some("20260101".into()),
        study_time: Some("120000".into()),
        modality: Some("DX".into()),
        body_part: Some(match kind {
            Kind::Chest => "CHEST".into(),
            Kind::Hand => "HAND".into(),
        }),
        pixel_spacing_mm: Some((px_mm, px_mm)),
        ..SourceInfo::default()
    };

    let rendered = match kind {
        Kind::Chest => {
            let body = chest::chest(&mut rng);
            let tissue = |x: f64, y: f64| body.tissue(x, y);
            let scene = Scene {
                width,
                height,
                pose,
                bones: body.bones.clone(),
                tissue: &tissue,
                exposure,
            };
            render(&scene, noise_seed)
        }
        Kind::Hand => {
            let body = hand::hand(&mut rng);
            let tissue = |x: f64, y: f64| body.tissue(x, y);
            let scene = Scene {
                width,
                height,
                pose,
                bones: body.bones.clone(),
                tissue: &tissue,
                exposure,
            };
            render(&scene, noise_seed)
        }
    };
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
