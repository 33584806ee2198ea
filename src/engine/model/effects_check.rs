//! The ledger's invariant, checked after every event in tests
//! (`Engine::check_invariants`): every entry's references are its live
//! messages, its orphaned handler and its pending resend; no free slot points
//! at an entry; the outcomes add up. Split from `effects.rs`; reads only.

use super::effects::{is_implicit, NO_FX};
use crate::engine::core::Engine;

impl Engine {
    /// Every entry's references are its live messages, its orphaned
    /// handler (`model::ack_timeout`) and its pending resend; no free slot
    /// points at an entry; the outcomes add up.
    pub(crate) fn check_effects(&self) -> Result<(), String> {
        let fx = &self.effects;
        let mut refs = vec![0u32; fx.entries.len()];
        let mut implicit = 0u64;
        for (slot, m) in self.msgs.iter().enumerate() {
            let e = m.fx;
            if e == NO_FX {
                continue;
            }
            if m.state == crate::engine::message::MsgState::Free {
                return Err(format!(
                    "free slot {slot} still points at ledger entry {e:#x}"
                ));
            }
            if is_implicit(e) {
                implicit += 1;
            } else {
                refs[e as usize] += 1;
            }
        }
        if implicit != fx.implicit_live {
            return Err(format!(
                "{implicit} slots hold implicit ledger entries, the count says {}",
                fx.implicit_live
            ));
        }
        // Handlers still running after their channel closed hold one each.
        for c in &self.consumers {
            for inst in &c.instances {
                if let Some(o) = inst.orphan.filter(|o| o.entry != NO_FX) {
                    refs[o.entry as usize] += 1;
                }
            }
        }
        let free: std::collections::BTreeSet<u32> = fx.free.iter().copied().collect();
        for (e, en) in fx.entries.iter().enumerate() {
            if free.contains(&(e as u32)) {
                continue;
            }
            let want = refs[e] + en.resend_pending as u32;
            if en.refs != want {
                return Err(format!(
                    "ledger entry {e} (business id {}) has {} refs, {} live messages and {} pending resends",
                    en.bid, en.refs, refs[e], en.resend_pending as u32
                ));
            }
        }
        let r = &fx.report;
        if r.exactly_once + r.duplicated + r.lost + self.effects.live_entries() as u64 != r.expected
        {
            return Err(format!("ledger outcomes do not add up: {r:?}"));
        }
        Ok(())
    }
}
