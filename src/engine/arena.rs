//! The message arena's lifecycle: interning keys and headers, creating and
//! copying messages, their copy-on-write side records (`MsgExt`), and the
//! terminal states (dropped with a reason, completed) that free a slot.
//!
//!   new_message / copy_message ──► slot (Message, 60 B) ──set_state──► ...
//!                                    └─ ext (shared by fan-out copies until written)
//!   drop_message / complete ──► ledger counts ──► release (slot reused)
//!
//! Guarantees: every slot is counted in exactly one ledger state; a side record
//! is freed when its last sharer lets go (checked by `check_ext_refs`).

use super::core::Engine;
use super::message::{ExtId, HdrId, Message, MsgExt, MsgState, Sym, NO_EXT, NO_QUEUE};
use super::trace::{NodeId, Reason, TraceKind};
use std::collections::BTreeMap;

impl Engine {
    // ------------------------------------------------ the message arena

    /// The interned id of a routing key or key.
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&i) = self.sym_index.get(s) {
            return i;
        }
        let i = self.syms.len() as Sym;
        self.syms.push(s.to_string());
        self.sym_index.insert(s.to_string(), i);
        i
    }

    /// The interned id of a header set.
    pub(crate) fn intern_headers(&mut self, h: BTreeMap<String, String>) -> HdrId {
        if let Some(&i) = self.hdr_index.get(&h) {
            return i;
        }
        let i = self.hdrs.len() as HdrId;
        self.hdrs.push(h.clone());
        self.hdr_index.insert(h, i);
        i
    }

    /// A new message in transit, in a recycled slot when one is free. Its
    /// correlation id is its own id until `set_correlation` says otherwise.
    #[inline]
    pub(crate) fn new_message(
        &mut self,
        routing_key: Sym,
        key: Sym,
        headers: HdrId,
        origin: u16,
        msg_ttl_us: Option<u64>,
    ) -> u32 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let m = Message {
            id,
            published_us: self.now.0,
            expires_us: u64::MAX,
            gen: 0,
            routing_key,
            key,
            headers,
            ext: NO_EXT,
            fx: super::model::effects::NO_FX,
            origin,
            deliveries: 0,
            queue: NO_QUEUE,
            state: MsgState::Transit,
            flags: 0,
        };
        self.ledger.created += 1;
        self.ledger.in_transit += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                let gen = self.msgs[slot as usize].gen.wrapping_add(1);
                self.msgs[slot as usize] = Message { gen, ..m };
                slot
            }
            None => {
                self.msgs.push(m);
                (self.msgs.len() - 1) as u32
            }
        };
        if msg_ttl_us.is_some() {
            self.ext_mut(slot).msg_ttl_us = msg_ttl_us;
        }
        slot
    }

    /// A routing copy of `slot`: a new entity with the same history. It
    /// shares the source's extension record (made now if the source had
    /// none, to carry the source's correlation id) until either changes it.
    pub(crate) fn copy_message(&mut self, slot: u32) -> u32 {
        if self.msgs[slot as usize].ext == NO_EXT {
            self.ext_mut(slot);
        }
        let src = self.msgs[slot as usize].clone();
        self.exts[src.ext as usize].refs += 1;
        let c = self.new_message(src.routing_key, src.key, src.headers, src.origin, None);
        let m = &mut self.msgs[c as usize];
        m.ext = src.ext;
        m.published_us = src.published_us;
        // A copy is the same message in another queue: same history
        // (deliveries here; failures, returns and deaths in the shared
        // record). Copies also inherit the dead-letter cycle budget there:
        // otherwise a zero-time cycle through a fanout DLX restarts the count
        // at every copy and recurses without end (route → enqueue → expire →
        // dead-letter → route).
        m.deliveries = src.deliveries;
        // Delivered once already (a dead letter fanned out after its
        // delivery): the copy's wait was the original's, recorded then; a
        // copy without the flag would record a second, longer "wait".
        use super::message::flag::{DELIVERED_ONCE, FROM_PRODUCER, TRANSIENT};
        m.set(FROM_PRODUCER, src.has(FROM_PRODUCER));
        m.set(TRANSIENT, src.has(TRANSIENT));
        m.set(DELIVERED_ONCE, src.has(DELIVERED_ONCE));
        self.fx_share(slot, c);
        c
    }

    // ------------------------------------------------ extension records

    /// The extension record of `slot`, if it has one.
    #[inline]
    pub(crate) fn ext(&self, slot: u32) -> Option<&MsgExt> {
        let e = self.msgs[slot as usize].ext;
        (e != NO_EXT).then(|| &self.exts[e as usize])
    }

    /// The correlation id (its own id unless it is a copy or a reply).
    pub(crate) fn correlation(&self, slot: u32) -> u64 {
        self.ext(slot)
            .map_or(self.msgs[slot as usize].id, |x| x.correlation)
    }

    pub(crate) fn set_correlation(&mut self, slot: u32, correlation: u64) {
        if correlation != self.correlation(slot) {
            self.ext_mut(slot).correlation = correlation;
        }
    }

    pub(crate) fn msg_ttl_us(&self, slot: u32) -> Option<u64> {
        self.ext(slot).and_then(|x| x.msg_ttl_us)
    }

    /// Payload size of `slot`'s message: its producer's `payload_bytes`.
    #[inline]
    pub(crate) fn payload_bytes(&self, slot: u32) -> u32 {
        let origin = self.msgs[slot as usize].origin;
        self.cfg.producers[origin as usize].payload_bytes
    }

    /// Deliveries of `slot`'s message so far.
    #[inline]
    pub(crate) fn deliveries(&self, slot: u32) -> u32 {
        match self.msgs[slot as usize].deliveries {
            u16::MAX => self.ext(slot).map_or(u16::MAX as u32, |x| x.deliveries),
            n => n as u32,
        }
    }

    /// Set the delivery count of `slot`'s message (counts from `u16::MAX`
    /// on go to its extension record).
    #[inline]
    pub(crate) fn set_deliveries(&mut self, slot: u32, n: u32) {
        if n < u16::MAX as u32 {
            self.msgs[slot as usize].deliveries = n as u16;
        } else {
            self.msgs[slot as usize].deliveries = u16::MAX;
            self.ext_mut(slot).deliveries = n;
        }
    }

    /// One more delivery of `slot`'s message; its new count.
    #[inline]
    pub(crate) fn count_delivery(&mut self, slot: u32) -> u32 {
        let n = self.deliveries(slot).saturating_add(1);
        self.set_deliveries(slot, n);
        n
    }

    pub(crate) fn failures(&self, slot: u32) -> u32 {
        self.ext(slot).map_or(0, |x| x.failures)
    }

    pub(crate) fn deaths(&self, slot: u32) -> u32 {
        self.ext(slot).map_or(0, |x| x.deaths)
    }

    /// The extension record of `slot` to change: made (with the defaults)
    /// if missing, unshared (copied) if other copies point at it too.
    pub(crate) fn ext_mut(&mut self, slot: u32) -> &mut MsgExt {
        let m = &self.msgs[slot as usize];
        let e = m.ext;
        let fresh = if e == NO_EXT {
            MsgExt {
                correlation: m.id,
                ..MsgExt::default()
            }
        } else if self.exts[e as usize].refs > 1 {
            self.exts[e as usize].refs -= 1;
            self.exts[e as usize].clone()
        } else {
            return &mut self.exts[e as usize];
        };
        let rec = MsgExt { refs: 1, ..fresh };
        let e = match self.ext_free.pop() {
            Some(e) => {
                self.exts[e as usize] = rec;
                e
            }
            None => {
                self.exts.push(rec);
                (self.exts.len() - 1) as ExtId
            }
        };
        self.msgs[slot as usize].ext = e;
        &mut self.exts[e as usize]
    }

    /// `slot` lets go of its extension record (freed with its last user).
    fn ext_release(&mut self, slot: u32) {
        let e = std::mem::replace(&mut self.msgs[slot as usize].ext, NO_EXT);
        if e == NO_EXT {
            return;
        }
        let x = &mut self.exts[e as usize];
        x.refs -= 1;
        if x.refs == 0 {
            *x = MsgExt::default();
            self.ext_free.push(e);
        }
    }

    /// Bytes one live message costs right now, on average: its arena slot,
    /// its entry in a queue or a consumer's buffer, and its share of the
    /// extension records in use with their death logs. (Slots and records
    /// freed for reuse are not counted: they are the run's high-water mark,
    /// not a per-message cost.)
    pub fn bytes_per_live_message(&self) -> f64 {
        let live = self.ledger.live();
        if live == 0 {
            return 0.0;
        }
        let slots = live as usize * std::mem::size_of::<Message>();
        let entries =
            (self.ledger.queued + self.ledger.unacked) as usize * std::mem::size_of::<u32>();
        let exts: usize = self
            .exts
            .iter()
            .filter(|x| x.refs > 0)
            .map(|x| {
                std::mem::size_of::<MsgExt>()
                    + x.death_log.capacity() * std::mem::size_of::<super::message::Death>()
            })
            .sum();
        (slots + entries + exts) as f64 / live as f64
    }

    /// Move a live message to another live state, keeping the ledger in step.
    pub(crate) fn set_state(&mut self, slot: u32, s: MsgState) {
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        *self.ledger.count(s) += 1;
        self.msgs[slot as usize].state = s;
    }

    /// Free a finished message's slot (bumping its generation).
    #[inline]
    pub(crate) fn release(&mut self, slot: u32) {
        self.fx_released(slot);
        let old = self.msgs[slot as usize].state;
        *self.ledger.count(old) -= 1;
        self.ext_release(slot);
        let m = &mut self.msgs[slot as usize];
        m.state = MsgState::Free;
        m.gen = m.gen.wrapping_add(1);
        self.free.push(slot);
    }

    /// Discard a message with `reason`, placed at node `at` in the trace.
    pub(crate) fn drop_message(&mut self, slot: u32, reason: Reason, at: NodeId) {
        let id = self.msgs[slot as usize].id;
        self.trace
            .record(self.now, TraceKind::Dropped { reason }, Some(id), at);
        self.totals.dropped += 1;
        self.dropped_by_reason[reason.index()] += 1;
        self.fx_discarded(slot, reason);
        self.ledger.discarded += 1;
        self.release(slot);
    }

    /// A message processed and acknowledged: record its time in system, free it.
    #[inline]
    pub(crate) fn complete(&mut self, slot: u32) {
        let m = &self.msgs[slot as usize];
        let e2e = self.now.0 - m.published_us;
        let p = &mut self.producers[m.origin as usize];
        p.completed += 1;
        p.end_to_end_sum_us += e2e;
        self.end_to_end.record(e2e);
        self.interval.record(e2e);
        self.totals.completed += 1;
        self.ledger.completed += 1;
        self.release(slot);
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::core::Engine;
    use crate::engine::message::MsgState;
    use crate::engine::time::SimTime;

    #[test]
    fn a_message_requeued_past_65535_deliveries_still_counts_them_exactly() {
        // One message, failed and requeued at the head every millisecond:
        // by 80 s it has been delivered 79,001 times, past the slot's 16-bit
        // count, whose excess moves to the extension record.
        let json = r#"{
  "title": "poison forever",
  "duration": "100s",
  "producers": [{ "id": "p", "to": "work", "rate": "1/s", "arrival": "constant", "count": 1 }],
  "queues": [{ "id": "work" }],
  "consumers": [{ "id": "c", "queue": "work", "service": { "constant": "1ms" },
                  "failure_rate": 1.0, "on_failure": "requeue" }]
}"#;
        let s = crate::scenario::load(json).unwrap();
        let mut e = Engine::new(s, 1).unwrap();
        e.run_until(SimTime(80_000_500), u64::MAX);
        let slot = e
            .msgs
            .iter()
            .position(|m| m.state != MsgState::Free)
            .expect("the message is alive") as u32;
        // Published at 1 s, one delivery per millisecond from then on.
        let n = e.deliveries(slot);
        assert_eq!(n, 79_001, "deliveries");
        assert_eq!(e.msgs[slot as usize].deliveries, u16::MAX);
        assert_eq!(e.message_view(slot).deliveries, n);
        // A routing copy inherits the count; counting on it leaves the source's.
        let c = e.copy_message(slot);
        assert_eq!(e.deliveries(c), n);
        assert_eq!(e.count_delivery(c), n + 1);
        assert_eq!(e.deliveries(slot), n);
        // Below the 16-bit limit the slot holds the count itself.
        e.set_deliveries(c, 7);
        assert_eq!((e.deliveries(c), e.msgs[c as usize].deliveries), (7, 7));
    }
}
