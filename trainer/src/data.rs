//! Data sets: which pixels of which images are labelled, and cutting each sample's input and
//! labels out of its image.
//!
//! Images arrive in memory as [`TrainingImage`] (raw detector values, bone bright, and a mask);
//! reading files is the tools' job. Each image is scaled once with the model's
//! [`InputScaling`] (resolved per image by `bonemask_core::scaling::resolve_for_image`) and
//! read through `bonemask_core::mirror::mirror` beyond its borders, so a sample near an edge
//! sees what segmentation will show the network.
//!
//! Interest areas are rectangles of an image that training draws labelled pixels from, given
//! per image ([`parse_interest_areas`]) or chosen automatically ([`AutoAreas`]). The set of
//! samples is drawn once per run from the seed; each epoch visits it in a new order.
//!
//! - Window form: a sample is one pixel; its input is the `W x W` window whose pixel at offset
//!   `W / 2` is that pixel. With [`Balance::Equal`] half the samples are bone, half other.
//! - Dense form: a sample is a `patch x patch` block of labelled pixels (smaller only when the
//!   image is), centred on a pixel drawn as above (so balance holds for the centres, and
//!   approximately for the pixels), clamped inside the image; its input is the
//!   `(patch + W - 1)` square around it.

use bonemask_core::mirror::mirror;
use bonemask_core::scaling::{InputScaling, resolve_for_image};
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use crate::error::TrainError;

/// One training image with its mask, as the data tools load it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingImage {
    /// Columns (pixels).
    pub width: usize,
    /// Rows (pixels).
    pub height: usize,
    /// `height * width` raw detector values, row-major, bone bright (MONOCHROME2).
    pub pixels: Vec<u16>,
    /// `height * width` labels, row-major: 0 other, any other value bone.
    pub mask: Vec<u8>,
    /// Interest areas to draw labelled pixels from; `None` chooses them automatically.
    pub interest_areas: Option<Vec<Rect>>,
}

/// A rectangle of an image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

/// Reads an interest-area file: one rectangle `x y w h` (left column, top row, columns, rows;
/// pixels; whitespace separated) per line. Blank lines and text after `#` are ignored.
///
/// ```text
/// # ribs, left lung
/// 120 340 64 64
/// 400 200 32 48   # clavicle
/// ```
pub fn parse_interest_areas(text: &str) -> Result<Vec<Rect>, TrainError> {
    let mut areas = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let syntax = |reason: String| TrainError::AreaSyntax {
            line: index + 1,
            reason,
        };
        let numbers = content
            .split_whitespace()
            .map(|word| {
                word.parse::<usize>()
                    .map_err(|_| syntax(format!("`{word}` is not a non-negative integer")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let [x, y, width, height] = numbers[..] else {
            return Err(syntax(format!("{} numbers instead of 4", numbers.len())));
        };
        if width == 0 || height == 0 {
            return Err(syntax("an area of zero width or height".into()));
        }
        areas.push(Rect {
            x,
            y,
            width,
            height,
        });
    }
    Ok(areas)
}

/// How interest areas are chosen for an image that has none: squares centred on random bone
/// edge pixels (bone pixels with a 4-neighbour that is not bone), and squares that hold no
/// bone at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoAreas {
    /// Side of each square (pixels); smaller images use their own size.
    pub side: usize,
    /// Squares around bone edges per image.
    pub edge_areas: usize,
    /// Bone-free squares per image (fewer when no free place is found in 64 tries each).
    pub free_areas: usize,
}

impl Default for AutoAreas {
    fn default() -> Self {
        AutoAreas {
            side: 64,
            edge_areas: 8,
            free_areas: 4,
        }
    }
}

/// How many samples of each class are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    /// Half bone, half other (the default).
    Equal,
    /// In the proportion the interest areas hold.
    Natural,
}

/// A uniform index in `0..n` (`n > 0`) by multiply-and-shift.
pub(crate) fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Fisher-Yates shuffle.
pub(crate) fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

/// An image ready for cutting samples: scaled inputs and 0/1 labels.
#[derive(Clone, Debug)]
struct PreparedImage {
    width: usize,
    height: usize,
    /// `[height][width]` network inputs.
    inputs: Vec<f32>,
    /// `[height][width]` labels, 0 or 1.
    labels: Vec<u8>,
}

/// One sample: an image and the rectangle of its labelled pixels (1x1 in window form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamplePlace {
    /// Index of the image.
    pub image: usize,
    /// The labelled pixels.
    pub area: Rect,
}

/// The prepared images and the run's samples.
#[derive(Clone, Debug)]
pub struct DataSet {
    images: Vec<PreparedImage>,
    /// Every sample of an epoch, in drawing order.
    pub samples: Vec<SamplePlace>,
    window: usize,
}

/// What [`DataSet::build`] needs to know besides the images.
#[derive(Clone, Copy, Debug)]
pub struct DataSettings {
    /// Window side `W` of the network (pixels).
    pub window: usize,
    /// `None` for window form, `Some(side)` for dense patches of `side x side` pixels.
    pub patch: Option<usize>,
    /// Labelled pixels to draw (rounded up to whole patches in dense form); at least 1.
    pub labelled_pixels: usize,
    /// Class balance of the drawing.
    pub balance: Balance,
    /// Input scaling of the model.
    pub scaling: InputScaling,
    /// Automatic interest areas for images without their own.
    pub auto_areas: AutoAreas,
}

impl DataSet {
    /// Scales the images and draws the samples with `rng`.
    pub fn build(
        images: &[TrainingImage],
        settings: &DataSettings,
        rng: &mut ChaCha8Rng,
    ) -> Result<DataSet, TrainError> {
        let mut histogram = vec![0u32; 65536];
        let mut prepared = Vec::with_capacity(images.len());
        let mut candidates = [Vec::new(), Vec::new()];
        for (index, image) in images.iter().enumerate() {
            check_image(index, image)?;
            let histogram: &mut [u32; 65536] = match histogram.as_mut_slice().try_into() {
                Ok(array) => array,
                Err(_) => unreachable!("the histogram has 65536 counters"),
            };
            let affine = resolve_for_image(&settings.scaling, &image.pixels, histogram);
            let areas = match &image.interest_areas {
                Some(areas) => areas.clone(),
                None => choose_areas(image, &settings.auto_areas, rng),
            };
            collect_candidates(index, image, &areas, &mut candidates);
            prepared.push(PreparedImage {
                width: image.width,
                height: image.height,
                inputs: image.pixels.iter().map(|raw| affine.apply(*raw)).collect(),
                labels: image.mask.iter().map(|m| u8::from(*m != 0)).collect(),
            });
        }

        // Patches shrink on small images, so draw until the labelled pixels are reached.
        let per_sample = settings.patch.map_or(1, |side| side * side);
        let mut samples = Vec::new();
        let mut labelled = 0;
        while labelled < settings.labelled_pixels {
            let count = (settings.labelled_pixels - labelled).div_ceil(per_sample);
            for (image, y, x) in draw_centres(&candidates, count, settings.balance, rng)? {
                let image_ref = &prepared[image];
                let area = match settings.patch {
                    None => Rect {
                        x,
                        y,
                        width: 1,
                        height: 1,
                    },
                    Some(side) => patch_around(image_ref.width, image_ref.height, y, x, side),
                };
                labelled += area.width * area.height;
                samples.push(SamplePlace { image, area });
            }
        }
        Ok(DataSet {
            images: prepared,
            samples,
            window: settings.window,
        })
    }

    /// Labelled pixels of one epoch.
    pub fn labelled_pixels(&self) -> u64 {
        self.samples
            .iter()
            .map(|s| (s.area.width * s.area.height) as u64)
            .sum()
    }

    /// Writes the sample's network input (`[h + W - 1][w + W - 1]`, row-major, mirrored at the
    /// image borders) and labels (`[h][w]`).
    pub fn cut(&self, place: &SamplePlace, input: &mut Vec<f32>, labels: &mut Vec<u8>) {
        let image = &self.images[place.image];
        let area = place.area;
        let half = (self.window / 2) as isize;
        let (in_h, in_w) = (area.height + self.window - 1, area.width + self.window - 1);
        input.clear();
        for row in 0..in_h {
            let source_row = mirror(area.y as isize - half + row as isize, image.height);
            let line = &image.inputs[source_row * image.width..(source_row + 1) * image.width];
            input.extend(
                (0..in_w).map(|column| {
                    line[mirror(area.x as isize - half + column as isize, image.width)]
                }),
            );
        }
        labels.clear();
        for row in area.y..area.y + area.height {
            let start = row * image.width + area.x;
            labels.extend_from_slice(&image.labels[start..start + area.width]);
        }
    }
}

fn check_image(index: usize, image: &TrainingImage) -> Result<(), TrainError> {
    let fail = |reason: String| Err(TrainError::Image { index, reason });
    if image.width == 0 || image.height == 0 {
        return fail(format!("empty ({}x{})", image.width, image.height));
    }
    let expected = image.width * image.height;
    if image.pixels.len() != expected {
        return fail(format!("{} pixels for {expected}", image.pixels.len()));
    }
    if image.mask.len() != expected {
        return fail(format!("{} mask values for {expected}", image.mask.len()));
    }
    if let Some(areas) = &image.interest_areas {
        for area in areas {
            if area.x + area.width > image.width || area.y + area.height > image.height {
                return Err(TrainError::AreaOutside {
                    index,
                    area: (area.x, area.y, area.width, area.height),
                    width: image.width,
                    height: image.height,
                });
            }
        }
    }
    Ok(())
}

/// Every pixel inside some area (once), as (image, row, column), split by class.
fn collect_candidates(
    index: usize,
    image: &TrainingImage,
    areas: &[Rect],
    candidates: &mut [Vec<(usize, usize, usize)>; 2],
) {
    let mut inside = vec![false; image.width * image.height];
    for area in areas {
        for row in area.y..area.y + area.height {
            inside[row * image.width + area.x..row * image.width + area.x + area.width].fill(true);
        }
    }
    for (at, _) in inside.iter().enumerate().filter(|(_, inside)| **inside) {
        let class = usize::from(image.mask[at] != 0);
        candidates[class].push((index, at / image.width, at % image.width));
    }
}

/// `count` sample centres drawn from the candidates.
fn draw_centres(
    candidates: &[Vec<(usize, usize, usize)>; 2],
    count: usize,
    balance: Balance,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(usize, usize, usize)>, TrainError> {
    let [other, bone] = candidates;
    if other.is_empty() && bone.is_empty() {
        return Err(TrainError::NoSamples);
    }
    let mut centres = Vec::with_capacity(count);
    match balance {
        Balance::Equal => {
            if bone.is_empty() {
                return Err(TrainError::MissingClass { class: "bone" });
            }
            if other.is_empty() {
                return Err(TrainError::MissingClass { class: "other" });
            }
            let bones = count / 2 + count % 2;
            centres.extend(draw(bone, bones, rng));
            centres.extend(draw(other, count - bones, rng));
        }
        Balance::Natural => {
            let all: Vec<_> = other.iter().chain(bone).copied().collect();
            centres.extend(draw(&all, count, rng));
        }
    }
    shuffle(rng, &mut centres);
    Ok(centres)
}

/// `count` items without repetition while the list lasts, then again from a fresh shuffle.
fn draw<T: Copy>(items: &[T], count: usize, rng: &mut ChaCha8Rng) -> Vec<T> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    let mut drawn = Vec::with_capacity(count);
    while drawn.len() < count {
        let take = (count - drawn.len()).min(order.len());
        // Partial Fisher-Yates: the first `take` entries become a uniform random subset.
        for i in 0..take {
            let j = i + below(rng, order.len() - i);
            order.swap(i, j);
        }
        drawn.extend(order[..take].iter().map(|at| items[*at]));
    }
    drawn
}

/// The `side x side` patch (smaller if the image is) centred on (y, x), moved inside.
fn patch_around(width: usize, height: usize, y: usize, x: usize, side: usize) -> Rect {
    let (patch_w, patch_h) = (side.min(width), side.min(height));
    let left = x.saturating_sub(patch_w / 2).min(width - patch_w);
    let top = y.saturating_sub(patch_h / 2).min(height - patch_h);
    Rect {
        x: left,
        y: top,
        width: patch_w,
        height: patch_h,
    }
}

/// Automatic interest areas of one image (see [`AutoAreas`]).
fn choose_areas(image: &TrainingImage, auto: &AutoAreas, rng: &mut ChaCha8Rng) -> Vec<Rect> {
    let (width, height) = (image.width, image.height);
    let bone = |row: usize, column: usize| image.mask[row * width + column] != 0;
    let mut edges = Vec::new();
    for row in 0..height {
        for column in 0..width {
            if !bone(row, column) {
                continue;
            }
            let edge = (row > 0 && !bone(row - 1, column))
                || (row + 1 < height && !bone(row + 1, column))
                || (column > 0 && !bone(row, column - 1))
                || (column + 1 < width && !bone(row, column + 1));
            if edge {
                edges.push((row, column));
            }
        }
    }

    let mut areas = Vec::new();
    if !edges.is_empty() {
        for _ in 0..auto.edge_areas {
            let (row, column) = edges[below(rng, edges.len())];
            areas.push(patch_around(width, height, row, column, auto.side));
        }
    }

    // Integral image of bone pixels: bone count of any rectangle in O(1).
    let mut integral = vec![0u32; (width + 1) * (height + 1)];
    for row in 0..height {
        for column in 0..width {
            let above = integral[row * (width + 1) + column + 1];
            let left = integral[(row + 1) * (width + 1) + column];
            let diagonal = integral[row * (width + 1) + column];
            integral[(row + 1) * (width + 1) + column + 1] =
                above + left - diagonal + u32::from(bone(row, column));
        }
    }
    let bone_in = |r: &Rect| {
        let at = |row: usize, column: usize| integral[row * (width + 1) + column];
        at(r.y + r.height, r.x + r.width) + at(r.y, r.x)
            - at(r.y, r.x + r.width)
            - at(r.y + r.height, r.x)
    };
    for _ in 0..auto.free_areas {
        for _ in 0..64 {
            let candidate = patch_around(
                width,
                height,
                below(rng, height),
                below(rng, width),
                auto.side,
            );
            if bone_in(&candidate) == 0 {
                areas.push(candidate);
                break;
            }
        }
    }
    areas
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn interest_area_files_parse_and_errors_name_the_line() {
        let areas = parse_interest_areas("# header\n1 2 3 4\n\n 5 6 7 8 # note\n").unwrap();
        assert_eq!(areas.len(), 2);
        assert_eq!(
            areas[1],
            Rect {
                x: 5,
                y: 6,
                width: 7,
                height: 8
            }
        );
        let error = parse_interest_areas("1 2 3 4\n1 2 x 4\n").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(parse_interest_areas("1 2 3").is_err());
        assert!(parse_interest_areas("1 2 0 3").is_err());
    }

    fn disc_image(side: usize) -> TrainingImage {
        let centre = side as f32 / 2.0;
        let radius = side as f32 / 4.0;
        let mut pixels = Vec::new();
        let mut mask = Vec::new();
        for row in 0..side {
            for column in 0..side {
                let (dy, dx) = (row as f32 - centre, column as f32 - centre);
                let inside = dy * dy + dx * dx < radius * radius;
                pixels.push(if inside { 3000 } else { 1000 } + (row * 7 + column) as u16 % 50);
                mask.push(u8::from(inside));
            }
        }
        TrainingImage {
            width: side,
            height: side,
            pixels,
            mask,
            interest_areas: None,
        }
    }

    #[test]
    fn samples_are_balanced_and_cut_with_mirrored_borders() {
        let image = disc_image(32);
        let settings = DataSettings {
            window: 8,
            patch: None,
            labelled_pixels: 100,
            balance: Balance::Equal,
            scaling: InputScaling::Percentiles {
                low: 0.5,
                high: 99.5,
            },
            auto_areas: AutoAreas {
                side: 12,
                ..AutoAreas::default()
            },
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let data = DataSet::build(std::slice::from_ref(&image), &settings, &mut rng).unwrap();
        assert_eq!(data.samples.len(), 100);
        let bones = data
            .samples
            .iter()
            .filter(|s| image.mask[s.area.y * 32 + s.area.x] != 0)
            .count();
        assert_eq!(bones, 50);

        let (mut input, mut labels) = (Vec::new(), Vec::new());
        let corner = SamplePlace {
            image: 0,
            area: Rect {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
            },
        };
        data.cut(&corner, &mut input, &mut labels);
        assert_eq!(input.len(), 64);
        // Window row 0 is image row -4, which mirrors to row 4; column 0 to column 4.
        let inputs = &data.images[0].inputs;
        assert_eq!(input[0], inputs[4 * 32 + 4]);
        // The labelled pixel sits at offset W/2 = 4.
        assert_eq!(input[4 * 8 + 4], inputs[0]);
        assert_eq!(labels, vec![0]);
    }

    #[test]
    fn dense_patches_stay_inside_small_images() {
        let image = disc_image(20);
        let settings = DataSettings {
            window: 8,
            patch: Some(40),
            labelled_pixels: 1000,
            balance: Balance::Equal,
            scaling: InputScaling::Percentiles {
                low: 0.5,
                high: 99.5,
            },
            auto_areas: AutoAreas::default(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let data = DataSet::build(&[image], &settings, &mut rng).unwrap();
        assert_eq!(
            data.samples.len(),
            3,
            "1000 labelled pixels in 20x20 patches"
        );
        for sample in &data.samples {
            assert_eq!((sample.area.x, sample.area.width), (0, 20));
        }
        let (mut input, mut labels) = (Vec::new(), Vec::new());
        data.cut(&data.samples[0], &mut input, &mut labels);
        assert_eq!((input.len(), labels.len()), (27 * 27, 400));
    }

    #[test]
    fn a_missing_class_is_reported() {
        let mut image = disc_image(16);
        image.mask.fill(0);
        let settings = DataSettings {
            window: 8,
            patch: None,
            labelled_pixels: 10,
            balance: Balance::Equal,
            scaling: InputScaling::Percentiles {
                low: 0.5,
                high: 99.5,
            },
            auto_areas: AutoAreas::default(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let error = DataSet::build(&[image], &settings, &mut rng).unwrap_err();
        assert!(matches!(error, TrainError::MissingClass { class: "bone" }));
    }
}
