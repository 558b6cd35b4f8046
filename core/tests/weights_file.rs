//! Weights files: a round trip in both precisions, and every way a file can be wrong, each
//! crafted on purpose and answered by its own error.

use bonemask_core::architecture::{Architecture, Config1, Config4};
use bonemask_core::int8::Int8Weights1;
use bonemask_core::quantize::quantize;
use bonemask_core::scaling::InputScaling;
use bonemask_core::weights::{Weights1, Weights4};
use bonemask_core::weights_file::{
    FORMAT_VERSION, Header, Precision, Provenance, WeightsError, file_len_max, parse, read_f32,
    read_int8, write_f32, write_int8,
};

fn header() -> Header {
    let mut provenance = Provenance::untrained(7);
    provenance.epochs = 3;
    provenance.description.push_str("test weights").unwrap();
    Header::new::<Config1>(
        Precision::F32,
        InputScaling::Percentiles {
            low: 0.5,
            high: 99.5,
        },
        provenance,
    )
}

fn config1_weights() -> Box<Weights1> {
    let mut weights = Weights1::boxed();
    for (index, param) in weights.params_mut().iter_mut().enumerate() {
        *param = ((index * 7919) % 2003) as f32 / 2003.0 - 0.5;
    }
    weights
}

fn config1_file() -> Vec<u8> {
    let mut out = vec![0u8; file_len_max::<Config1>()];
    let len = write_f32(&config1_weights(), &header(), &mut out).unwrap();
    out.truncate(len);
    out
}

/// Recomputes the trailing CRC after an edit, so that the edit itself is what gets detected.
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn f32_round_trip_keeps_every_bit_and_the_header() {
    let bytes = config1_file();
    let mut loaded = Weights1::boxed();
    let read_header = read_f32(&bytes, &mut loaded).unwrap();
    assert_eq!(read_header, header());
    assert!(loaded.params() == config1_weights().params());
}

#[test]
fn int8_round_trip() {
    let mut int8 = Box::new(Int8Weights1::zeroed());
    quantize(&config1_weights(), &mut int8);
    let mut out = vec![0u8; file_len_max::<Config1>()];
    let len = write_int8(&int8, &header(), &mut out).unwrap();
    let mut loaded = Box::new(Int8Weights1::zeroed());
    let read_header = read_int8(&out[..len], &mut loaded).unwrap();
    assert_eq!(read_header.precision, Precision::Int8);
    assert!(*loaded == *int8);
}

#[test]
fn bad_magic() {
    let mut bytes = config1_file();
    bytes[0] = b'X';
    assert_eq!(
        read_f32(&bytes, &mut Weights1::boxed()),
        Err(WeightsError::BadMagic)
    );
    assert_eq!(parse(b"GIF89a....").unwrap_err(), WeightsError::BadMagic);
}

#[test]
fn newer_version() {
    let mut bytes = config1_file();
    // The version is a varint right after the 8 magic bytes; 1 fits in one byte.
    assert_eq!(bytes[8] as u16, FORMAT_VERSION);
    bytes[8] = (FORMAT_VERSION + 1) as u8;
    assert_eq!(
        read_f32(&bytes, &mut Weights1::boxed()),
        Err(WeightsError::NewerVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        })
    );
}

#[test]
fn wrong_configuration() {
    let bytes = config1_file();
    assert_eq!(
        read_f32(&bytes, &mut Weights4::boxed()),
        Err(WeightsError::WrongConfiguration {
            found: 1,
            expected: Config4::ID
        })
    );
}

#[test]
fn wrong_precision() {
    let bytes = config1_file();
    assert_eq!(
        read_int8(&bytes, &mut Box::new(Int8Weights1::zeroed())),
        Err(WeightsError::WrongPrecision {
            found: Precision::F32,
            expected: Precision::Int8
        })
    );
}

#[test]
fn truncated_anywhere() {
    let bytes = config1_file();
    for cut in [9, 12, 40, bytes.len() / 2, bytes.len() - 5, bytes.len() - 1] {
        assert_eq!(
            read_f32(&bytes[..cut], &mut Weights1::boxed()),
            Err(WeightsError::Truncated),
            "cut at {cut} of {}",
            bytes.len()
        );
    }
    assert_eq!(parse(b"BONE").unwrap_err(), WeightsError::Truncated);
    assert_eq!(parse(b"").unwrap_err(), WeightsError::Truncated);
}

#[test]
fn checksum_mismatch() {
    let mut bytes = config1_file();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    assert!(matches!(
        read_f32(&bytes, &mut Weights1::boxed()),
        Err(WeightsError::ChecksumMismatch { .. })
    ));
}

#[test]
fn non_finite_values() {
    let mut weights = config1_weights();
    weights.params_mut()[1234] = f32::NAN;
    let mut out = vec![0u8; file_len_max::<Config1>()];
    let len = write_f32(&weights, &header(), &mut out).unwrap();
    assert_eq!(
        read_f32(&out[..len], &mut Weights1::boxed()),
        Err(WeightsError::NonFinite { index: 1234 })
    );

    weights.params_mut()[1234] = 0.0;
    weights.params_mut()[99] = f32::NEG_INFINITY;
    let len = write_f32(&weights, &header(), &mut out).unwrap();
    assert_eq!(
        read_f32(&out[..len], &mut Weights1::boxed()),
        Err(WeightsError::NonFinite { index: 99 })
    );
}

#[test]
fn payload_of_the_wrong_size() {
    // A well-formed file whose payload is one f32 short.
    let mut body = postcard::to_allocvec(&header()).unwrap();
    let payload = vec![0u8; 4 * (Config1::PARAMS - 1)];
    body.extend(postcard::to_allocvec(&payload.as_slice()).unwrap());
    body.extend([0u8; 4]);
    reseal(&mut body);
    assert_eq!(
        read_f32(&body, &mut Weights1::boxed()),
        Err(WeightsError::PayloadSize {
            found: payload.len(),
            expected: 4 * Config1::PARAMS
        })
    );
}

#[test]
fn trailing_bytes_are_malformed() {
    let mut bytes = config1_file();
    bytes.extend([1, 2, 3, 4]);
    assert_eq!(
        read_f32(&bytes, &mut Weights1::boxed()),
        Err(WeightsError::Malformed)
    );
}

#[test]
fn too_small_output_buffer() {
    let mut out = vec![0u8; 100];
    assert!(matches!(
        write_f32(&config1_weights(), &header(), &mut out),
        Err(WeightsError::BufferTooSmall { .. })
    ));
}

#[test]
fn every_error_has_a_message() {
    let message = WeightsError::WrongConfiguration {
        found: 1,
        expected: 4,
    }
    .to_string();
    assert!(message.contains("configuration 1") && message.contains("configuration 4"));
}
