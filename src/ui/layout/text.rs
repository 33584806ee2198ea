//! Text widths without a canvas, so layout and label placement stay pure
//! and testable.
//!
//! The table holds the advance widths of DejaVu Sans (regular and bold), in
//! thousandths of an em, for printable ASCII — read from the font files that
//! Debian ships (`/usr/share/fonts/truetype/dejavu`). DejaVu is wider than the
//! usual system UI fonts (Segoe UI, San Francisco, Roboto), so widths
//! estimated here are upper bounds there; anything outside ASCII counts as
//! one em. The renderer still measures what it draws and shrinks a line's
//! font rather than cut it, should a font ever be wider.

/// Advance widths of U+0020..=U+007E, DejaVu Sans Book [em/1000].
const REGULAR: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];

/// Advance widths of U+0020..=U+007E, DejaVu Sans Bold [em/1000].
const BOLD: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
    683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
    724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
    343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];

/// Width of `text` set at `px` (layout units or CSS pixels alike).
pub fn text_w(text: &str, px: f64, bold: bool) -> f64 {
    let table = if bold { &BOLD } else { &REGULAR };
    let milli: u64 = text
        .chars()
        .map(|c| {
            let i = c as u32;
            if (0x20..=0x7e).contains(&i) {
                table[(i - 0x20) as usize] as u64
            } else {
                match c {
                    '·' => 380,
                    '→' | '×' | '≤' | '≥' => 838,
                    _ => 1000,
                }
            }
        })
        .sum();
    milli as f64 / 1000.0 * px
}

/// Join `parts` with " · ", dropping the lowest-priority parts (highest
/// `priority` number) until the line fits in `max_w` at `px`. The first part
/// is never dropped. Used for node detail lines whose numbers grow while the
/// simulation runs: a line loses a fact before it would lose letters.
pub fn fit_parts(parts: &[(&str, u8)], max_w: f64, px: f64, bold: bool) -> String {
    let mut keep: Vec<bool> = parts.iter().map(|p| !p.0.is_empty()).collect();
    loop {
        let line = parts
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p.0)
            .collect::<Vec<_>>()
            .join(" · ");
        if text_w(&line, px, bold) <= max_w {
            return line;
        }
        // Drop the kept part with the highest priority number (not the first).
        let victim = parts
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| keep[*i])
            .max_by_key(|(i, p)| (p.1, *i))
            .map(|(i, _)| i);
        match victim {
            Some(i) => keep[i] = false,
            None => return line,
        }
    }
}
