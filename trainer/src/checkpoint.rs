//! Checkpoints: the whole training state after an epoch, so that a run can resume bit for bit.
//!
//! File layout: the 8 bytes `BMCKPT01`, a postcard-encoded [`Checkpoint`], then a CRC-32
//! (IEEE, little-endian) of everything before it. Written to `PATH.tmp` and renamed over
//! `PATH`, so an interrupted write never leaves a damaged checkpoint behind.
//!
//! The random state is not a generator dump: every random stream is a function of the seed
//! and the epoch (see [`crate::train`]), so `seed` and `epochs_done` are the random state.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::train::{EpochSummary, TrainSettings};

const MAGIC: &[u8; 8] = b"BMCKPT01";

/// The state of a run after `epochs_done` epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The settings that shape the trajectory, as text; must match to resume.
    pub fingerprint: String,
    /// Seed of the run (with `epochs_done`, the random state).
    pub seed: u64,
    /// Epochs finished.
    pub epochs_done: u32,
    /// Parameters, `bonemask_core` `Layout` order.
    pub params: Vec<f32>,
    /// SGD momentum buffer, same order and length.
    pub velocity: Vec<f32>,
    /// One entry per finished epoch.
    pub history: Vec<EpochSummary>,
}

impl Checkpoint {
    /// The state before the first epoch.
    pub fn start(settings: &TrainSettings, params: Vec<f32>) -> Checkpoint {
        let velocity = vec![0.0; params.len()];
        Checkpoint {
            fingerprint: settings.fingerprint(),
            seed: settings.seed,
            epochs_done: 0,
            params,
            velocity,
            history: Vec::new(),
        }
    }

    /// Encodes the checkpoint into its file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        match postcard::to_extend(self, bytes) {
            Ok(encoded) => bytes = encoded,
            Err(_) => unreachable!("postcard encodes into a growing vector without error"),
        }
        let checksum = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        bytes
    }

    /// Decodes file bytes; `None` names what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, String> {
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err("not a bonemask checkpoint (bad magic or too short)".into());
        }
        let (body, stored) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
        if crc32fast::hash(body) != stored {
            return Err("checksum mismatch (damaged file)".into());
        }
        postcard::from_bytes(&body[MAGIC.len()..])
            .map_err(|error| format!("does not decode: {error}"))
    }

    /// Writes the checkpoint atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), TrainError> {
        let io = |source| TrainError::CheckpointIo {
            path: path.to_path_buf(),
            source,
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        std::fs::write(&temporary, self.to_bytes()).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// Reads a checkpoint and checks that it belongs to a run with these settings.
    pub fn read(path: &Path, settings: &TrainSettings) -> Result<Checkpoint, TrainError> {
        let bytes = std::fs::read(path).map_err(|source| TrainError::CheckpointIo {
            path: path.to_path_buf(),
            source,
        })?;
        let checkpoint =
            Checkpoint::from_bytes(&bytes).map_err(|reason| TrainError::CheckpointFormat {
                path: path.to_path_buf(),
                reason,
            })?;
        let mismatch = |reason: String| TrainError::CheckpointMismatch {
            path: path.to_path_buf(),
            reason,
        };
        let params = settings.geometry.layout.params;
        if checkpoint.params.len() != params || checkpoint.velocity.len() != params {
            return Err(mismatch(format!(
                "it holds {} parameters, this network {params}",
                checkpoint.params.len()
            )));
        }
        if checkpoint.fingerprint != settings.fingerprint() {
            return Err(mismatch(format!(
                "settings differ (checkpoint: {}; now: {})",
                checkpoint.fingerprint,
                settings.fingerprint()
            )));
        }
        Ok(checkpoint)
    }
}
