//! Animated GIF from rendered frames: a deterministic palette per frame and
//! only the changed rectangle encoded.
//!
//!   RGBA frame ──diff with the previous──► changed rectangle ──palette──► indices ──gif::Encoder──► bytes
//!                     └─ unchanged: the previous frame is shown longer (its delay grows)
//!
//! Guarantee: the same frames in the same order give the same bytes. The
//! app's animation export (`ui/app/animation.rs`) renders every frame from
//! the engine at fixed times, so the same scenario, seed, commands and span
//! give the same file (in one browser: canvas text rasterisation differs
//! between browsers and fonts).
//!
//! The palette is our own, not the `gif` crate's NeuQuant (`color_quant`):
//! the app's pictures are flat (a few dozen theme colours plus anti-aliased
//! edges), so the most frequent colours, counted by sorting, are exact for
//! every fill and every token, and the rare edge shades map to their nearest
//! palette entry. It is deterministic by construction (ties break on the
//! colour value) and costs one sort per frame.

use std::borrow::Cow;

/// Most colours a GIF frame's palette holds.
const PALETTE_MAX: usize = 256;

/// A frame waiting for its delay to be known (an identical next frame
/// lengthens it instead of being written).
struct Pending {
    left: u16,
    top: u16,
    width: u16,
    height: u16,
    palette: Vec<u8>,
    indices: Vec<u8>,
    delay_cs: u16,
}

/// Writes an endlessly looping GIF of `width` × `height` frames.
pub struct GifWriter {
    enc: gif::Encoder<Vec<u8>>,
    width: usize,
    height: usize,
    prev: Option<Vec<u8>>,
    pending: Option<Pending>,
    frames_in: u32,
    frames_out: u32,
}

impl GifWriter {
    pub fn new(width: u16, height: u16) -> Result<GifWriter, String> {
        if width == 0 || height == 0 {
            return Err(format!("a GIF frame of {width} × {height} px is empty"));
        }
        let mut enc =
            gif::Encoder::new(Vec::new(), width, height, &[]).map_err(|e| e.to_string())?;
        enc.set_repeat(gif::Repeat::Infinite)
            .map_err(|e| e.to_string())?;
        Ok(GifWriter {
            enc,
            width: width as usize,
            height: height as usize,
            prev: None,
            pending: None,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Frames pushed so far.
    pub fn frames_in(&self) -> u32 {
        self.frames_in
    }

    /// Add one frame (`rgba`: width × height × 4 bytes, row-major), shown
    /// for `delay_cs` hundredths of a second. Alpha is ignored (the app's
    /// canvas is opaque).
    pub fn push(&mut self, rgba: &[u8], delay_cs: u16) -> Result<(), String> {
        let (w, h) = (self.width, self.height);
        if rgba.len() != w * h * 4 {
            return Err(format!(
                "a frame has {} bytes, a {w} × {h} RGBA frame needs {}",
                rgba.len(),
                w * h * 4
            ));
        }
        self.frames_in += 1;
        let rect = match &self.prev {
            None => Some((0, 0, w, h)),
            Some(prev) => changed_rect(prev, rgba, w, h),
        };
        let Some((x0, y0, x1, y1)) = rect else {
            // Nothing moved: show the previous frame longer.
            if let Some(p) = &mut self.pending {
                p.delay_cs = p.delay_cs.saturating_add(delay_cs);
            }
            return Ok(());
        };
        self.flush()?;
        let mut px = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            let row = &rgba[(y * w + x0) * 4..(y * w + x1) * 4];
            px.extend(row.chunks_exact(4).map(|c| rgb(c[0], c[1], c[2])));
        }
        let (palette, indices) = quantize(&px);
        self.pending = Some(Pending {
            left: x0 as u16,
            top: y0 as u16,
            width: (x1 - x0) as u16,
            height: (y1 - y0) as u16,
            palette,
            indices,
            delay_cs,
        });
        match &mut self.prev {
            Some(prev) => prev.copy_from_slice(rgba),
            None => self.prev = Some(rgba.to_vec()),
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let frame = gif::Frame {
            delay: p.delay_cs,
            dispose: gif::DisposalMethod::Keep,
            left: p.left,
            top: p.top,
            width: p.width,
            height: p.height,
            palette: Some(p.palette),
            buffer: Cow::Owned(p.indices),
            ..gif::Frame::default()
        };
        self.enc.write_frame(&frame).map_err(|e| e.to_string())?;
        self.frames_out += 1;
        Ok(())
    }

    /// Finish the file: (bytes, frames written).
    pub fn finish(mut self) -> Result<(Vec<u8>, u32), String> {
        if self.frames_in == 0 {
            return Err("an animation needs at least one frame".into());
        }
        self.flush()?;
        let frames = self.frames_out;
        let bytes = self.enc.into_inner().map_err(|e| e.to_string())?;
        Ok((bytes, frames))
    }
}

fn rgb(r: u8, g: u8, b: u8) -> u32 {
    (r as u32) << 16 | (g as u32) << 8 | b as u32
}

/// The smallest rectangle `[x0, x1) × [y0, y1)` outside which the two
/// frames have the same RGB; None when they are the same.
fn changed_rect(a: &[u8], b: &[u8], w: usize, h: usize) -> Option<(usize, usize, usize, usize)> {
    let same = |i: usize| a[i * 4..i * 4 + 3] == b[i * 4..i * 4 + 3];
    let row_same = |y: usize| (0..w).all(|x| same(y * w + x));
    let y0 = (0..h).find(|&y| !row_same(y))?;
    let y1 = (y0..h).rev().find(|&y| !row_same(y)).unwrap_or(y0) + 1;
    let col_same = |x: usize| (y0..y1).all(|y| same(y * w + x));
    let x0 = (0..w).find(|&x| !col_same(x)).unwrap_or(0);
    let x1 = (x0..w).rev().find(|&x| !col_same(x)).unwrap_or(x0) + 1;
    Some((x0, y0, x1, y1))
}

/// A palette (RGB triples) of at most 256 colours and each pixel's index.
/// Up to 256 distinct colours are kept exactly; beyond, the 256 most
/// frequent are kept (ties: the smaller colour value first) and every other
/// colour maps to its nearest one (squared RGB distance, ties: the lower index).
fn quantize(px: &[u32]) -> (Vec<u8>, Vec<u8>) {
    let mut sorted = px.to_vec();
    sorted.sort_unstable();
    // Distinct colours (ascending) with their counts.
    let mut uniq: Vec<(u32, u32)> = Vec::new();
    for &c in &sorted {
        match uniq.last_mut() {
            Some((u, n)) if *u == c => *n += 1,
            _ => uniq.push((c, 1)),
        }
    }
    let mut by_count: Vec<(u32, u32)> = uniq.clone();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_count.truncate(PALETTE_MAX);
    let kept: Vec<u32> = by_count.iter().map(|&(c, _)| c).collect();
    let index_of = |c: u32| -> u8 {
        let mut best = (u32::MAX, 0usize);
        for (i, &k) in kept.iter().enumerate() {
            let d = dist2(c, k);
            if d < best.0 {
                best = (d, i);
                if d == 0 {
                    break;
                }
            }
        }
        best.1 as u8
    };
    // Each distinct colour's index, then each pixel's by binary search.
    let uniq_index: Vec<u8> = uniq.iter().map(|&(c, _)| index_of(c)).collect();
    let indices = px
        .iter()
        .map(|c| {
            let i = uniq.partition_point(|&(u, _)| u < *c);
            uniq_index[i]
        })
        .collect();
    let mut palette = Vec::with_capacity(kept.len() * 3);
    for c in &kept {
        palette.extend_from_slice(&[(c >> 16) as u8, (c >> 8) as u8, *c as u8]);
    }
    (palette, indices)
}

fn dist2(a: u32, b: u32) -> u32 {
    let d = |s: u32| {
        let x = ((a >> s) & 0xff) as i32 - ((b >> s) & 0xff) as i32;
        (x * x) as u32
    };
    d(16) + d(8) + d(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = f(x, y);
                v.extend_from_slice(&[r, g, b, 255]);
            }
        }
        v
    }

    /// Decode every frame onto a canvas (the GIF's own composition rules).
    fn decode(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<u16>) {
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut d = opts.read_info(bytes).expect("a GIF");
        let (w, h) = (d.width() as usize, d.height() as usize);
        let mut canvas = vec![0u8; w * h * 4];
        let mut out = Vec::new();
        let mut delays = Vec::new();
        while let Some(f) = d.read_next_frame().expect("a frame") {
            for y in 0..f.height as usize {
                for x in 0..f.width as usize {
                    let s = (y * f.width as usize + x) * 4;
                    let t = ((y + f.top as usize) * w + x + f.left as usize) * 4;
                    canvas[t..t + 4].copy_from_slice(&f.buffer[s..s + 4]);
                }
            }
            out.push(canvas.clone());
            delays.push(f.delay);
        }
        (out, delays)
    }

    #[test]
    fn flat_frames_round_trip_exactly_and_only_changes_are_encoded() {
        let (w, h) = (40, 30);
        let bg = |_, _| [248, 250, 252];
        let a = frame(w, h, bg);
        // A token (red square) moves; the background stays.
        let b = frame(w, h, |x, y| {
            if (10..14).contains(&x) && (5..9).contains(&y) {
                [220, 38, 38]
            } else {
                [248, 250, 252]
            }
        });
        let mut g = GifWriter::new(w as u16, h as u16).unwrap();
        g.push(&a, 10).unwrap();
        g.push(&b, 10).unwrap();
        g.push(&b, 10).unwrap(); // unchanged: lengthens the second frame
        let (bytes, frames) = g.finish().unwrap();
        assert_eq!(&bytes[..6], b"GIF89a");
        assert_eq!(frames, 2);
        let (decoded, delays) = decode(&bytes);
        assert_eq!(delays, vec![10, 20]);
        assert_eq!(decoded[0], a);
        assert_eq!(decoded[1], b);
        // The second frame is the 4 × 4 square only.
        let mut d = gif::DecodeOptions::new().read_info(&bytes[..]).unwrap();
        d.read_next_frame().unwrap();
        let f = d.read_next_frame().unwrap().unwrap();
        assert_eq!((f.left, f.top, f.width, f.height), (10, 5, 4, 4));
    }

    #[test]
    fn more_than_256_colours_keep_the_frequent_ones_exact_and_are_deterministic() {
        let (w, h) = (64, 64);
        // Half the picture one flat colour, a small saturated token, and a
        // 1,000-shade gradient (anti-aliasing's fringe colours).
        let img = frame(w, h, |x, y| {
            if y < 32 {
                [15, 23, 42]
            } else if x < 3 && y < 35 {
                [37, 99, 235]
            } else {
                let i = ((y - 32) * 64 + x) as u32;
                [(i % 256) as u8, (i / 4 % 256) as u8, 128]
            }
        });
        let run = || {
            let mut g = GifWriter::new(w as u16, h as u16).unwrap();
            g.push(&img, 5).unwrap();
            g.finish().unwrap().0
        };
        let bytes = run();
        assert_eq!(bytes, run(), "same frames, same bytes");
        let (decoded, _) = decode(&bytes);
        let px = |x: usize, y: usize| &decoded[0][(y * w + x) * 4..(y * w + x) * 4 + 3];
        assert_eq!(px(10, 10), &[15, 23, 42]);
        assert_eq!(px(1, 33), &[37, 99, 235]);
    }

    #[test]
    fn wrong_frame_sizes_are_named() {
        let mut g = GifWriter::new(4, 4).unwrap();
        let e = g.push(&[0; 10], 1).unwrap_err();
        assert!(e.contains("10 bytes") && e.contains("64"), "{e}");
        assert!(GifWriter::new(0, 4).is_err());
        let g = GifWriter::new(4, 4).unwrap();
        assert!(g.finish().is_err());
    }
}
