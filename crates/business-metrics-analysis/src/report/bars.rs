//! Compact bars of Unicode block characters for terminal output.

/// The partial blocks, one to seven eighths of a cell.
const EIGHTHS: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A bar `width` cells long at `max`, proportional below it to the nearest eighth
/// of a cell; any value above 0 shows at least an eighth. Empty for 0 or `max` 0.
#[must_use]
#[allow(clippy::cast_precision_loss)] // a ratio of counts, shown to an eighth of a cell
pub fn block_bar(value: u64, max: u64, width: usize) -> String {
    if value == 0 || max == 0 {
        return String::new();
    }
    let cells = 8 * width;
    let share = value.min(max) as f64 / max as f64;
    let eighths = crate::reading::clamped_usize(
        (share * cells as f64).round(),
        u32::try_from(cells).unwrap_or(u32::MAX),
    );
    let eighths = eighths.clamp(1, cells);
    let mut bar = "█".repeat(eighths / 8);
    if let Some(&part) = (eighths % 8).checked_sub(1).and_then(|i| EIGHTHS.get(i)) {
        bar.push(part);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_to_the_nearest_eighth() {
        assert_eq!(block_bar(30_000, 30_000, 20), "█".repeat(20));
        assert_eq!(block_bar(15_000, 30_000, 20), "█".repeat(10));
        assert_eq!(block_bar(21_500, 30_000, 20), "██████████████▍");
        assert_eq!(block_bar(1, 30_000, 20), "▏");
        assert_eq!(block_bar(0, 30_000, 20), "");
        assert_eq!(block_bar(5, 0, 20), "");
        assert_eq!(block_bar(9, 3, 2), "██");
    }
}
