//! Variants side by side (stub).
use super::App;
impl App {
    pub(super) fn comparing(&self) -> bool {
        false
    }
    pub(super) fn toggle_compare(&mut self) -> bool {
        false
    }
}
