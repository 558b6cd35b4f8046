//! `bonemask info`: describes a file without changing it.
//!
//! It knows DICOM (recognised by the "DICM" marker at byte 128) and bonemask weights files
//! (recognised by their `BONEMASK` magic); each kind has its own `describe_*` function.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::dicom_io::read::{open_object, source_info, transfer_syntax_name};
use bonemask_core::weights_file;
use dicom_dictionary_std::tags;

/// Arguments of `bonemask info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The file to describe.
    pub file: PathBuf,
}

/// Whether `bytes` look like a DICOM file (preamble then "DICM").
pub fn is_dicom(bytes: &[u8]) -> bool {
    bytes.len() >= 132 && &bytes[128..132] == b"DICM"
}

/// Runs `bonemask info`.
pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if is_dicom(&bytes) {
        return describe_dicom(path, &bytes);
    }
    if bytes.starts_with(&weights_file::MAGIC) {
        return describe_weights(path, &bytes);
    }
    bail!(
        "{}: not a file bonemask knows (expected DICOM or a bonemask weights file)",
        path.display()
    )
}

/// Prints a weights file's configuration, precision, input scaling and provenance, after
/// checking it whole (magic, version, checksum, and that its configuration loads).
fn describe_weights(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let model = crate::model::Model::from_bytes(bytes, &path.display().to_string())?;
    let header = &model.header;
    let table = header.table;
    println!(
        "file                {} ({} bytes)",
        path.display(),
        bytes.len()
    );
    println!(
        "kind                bonemask weights, format version {}",
        header.version
    );
    println!(
        "configuration       {} (window {}x{}, filters {:?}, pools {:?})",
        header.configuration, table.window, table.window, table.kernels, table.pools
    );
    println!("precision           {:?}", header.precision);
    println!(
        "multiply-adds       {} per pixel (dense)",
        model.macs_per_pixel()
    );
    println!("input scaling       {:?}", header.scaling);
    let provenance = &header.provenance;
    println!(
        "provenance          seed {}, {} epochs, {} labelled pixels per epoch",
        provenance.seed, provenance.epochs, provenance.labelled_pixels
    );
    println!("description         {}", provenance.description);
    Ok(())
}

/// Prints a DICOM file's size, pixel format, transfer syntax, rescale and identifiers.
fn describe_dicom(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let obj = match open_object(path, bytes) {
        Ok(obj) => obj,
        Err(crate::dicom_io::DicomIoError::UnsupportedTransferSyntax { uid, name, .. }) => {
            // Still worth describing the container: say what we can and fail.
            bail!(
                "{}: transfer syntax {uid} ({name}) cannot be decoded by bonemask",
                path.display()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let text = |tag| crate::dicom_io::read::text(&obj, tag).unwrap_or_else(|| "-".into());
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    println!(
        "file                {} ({} bytes)",
        path.display(),
        bytes.len()
    );
    println!(
        "sop class           {}",
        obj.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
    );
    println!("transfer syntax     {ts} ({})", transfer_syntax_name(&ts));
    println!("modality            {}", text(tags::MODALITY));
    println!(
        "size                {} x {} (columns x rows)",
        text(tags::COLUMNS),
        text(tags::ROWS)
    );
    println!(
        "frames              {}",
        text(tags::NUMBER_OF_FRAMES).replace('-', "1")
    );
    println!(
        "bits                {} allocated, {} stored, high bit {}, {}",
        text(tags::BITS_ALLOCATED),
        text(tags::BITS_STORED),
        text(tags::HIGH_BIT),
        if text(tags::PIXEL_REPRESENTATION) == "1" {
            "signed"
        } else {
            "unsigned"
        }
    );
    println!(
        "photometric         {}",
        text(tags::PHOTOMETRIC_INTERPRETATION)
    );
    println!("samples per pixel   {}", text(tags::SAMPLES_PER_PIXEL));
    println!(
        "rescale             slope {}, intercept {}",
        text(tags::RESCALE_SLOPE),
        text(tags::RESCALE_INTERCEPT)
    );
    println!(
        "window              centre {}, width {}",
        text(tags::WINDOW_CENTER),
        text(tags::WINDOW_WIDTH)
    );
    let s = source_info(&obj);
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    match s.pixel_spacing_mm {
        Some((r, c)) => println!("pixel spacing       {r} x {c} mm (row x column)"),
        None => println!("pixel spacing       -"),
    }
    println!("patient id          {}", show(&s.patient_id));
    println!("study uid           {}", show(&s.study_instance_uid));
    println!("series uid          {}", show(&s.series_instance_uid));
    println!("sop instance uid    {}", show(&s.sop_instance_uid));
    println!("frame of reference  {}", show(&s.frame_of_reference_uid));
    Ok(())
}
