//! The invariants the engine promises, checked on demand (tests and the
//! property and swarm runs check them after every event).
//!
//!   check_invariants ──► ledger ⇔ arena (here; the effects ledger: model::effects_check)
//!                    ──► model::queue_check::check_queues (max_length, ownership, unacked, work-conserving)
//!                    ──► ledger ⇔ queues and consumers   (here)
//!                    ──► model::consumer::check_consumers (prefetch, crashed hold nothing, busy ⇔ held)
//!                    ──► model::breaker::check_breakers (dispatch gate ⇔ breaker not closed)
//!                    ──► model::sqs::check_sqs            (visible / delayed / in flight / held agree)
//!                    ──► model::retry::check_retry_waits  (retries only with attempts left)
//!                    ──► published + copies = created    (here)
//!                    ──► model::topic::check_topics       (offsets contiguous / increasing, log bounds)
//!                    ──► model::group::check_groups       (committed ≤ log end, one live owner per partition)
//!                    ──► model::redis::check_redis        (output buffers, stream ids, PELs)
//!
//! Conservation lives here; each model checks its own state in its own file.
//! Returns the first violation found, in words.

use crate::engine::core::Engine;

impl Engine {
    /// Check every invariant; returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let l = &self.ledger;
        if l.created != l.live() + l.completed + l.discarded {
            return Err(format!("conservation: {l:?}"));
        }
        let mut by_state = [0u64; 5];
        for m in &self.msgs {
            by_state[m.state as usize] += 1;
        }
        let expect = [
            self.free.len() as u64,
            l.in_transit,
            l.queued,
            l.unacked,
            l.retry_wait,
        ];
        if by_state != expect {
            return Err(format!(
                "arena states {by_state:?} disagree with ledger {expect:?}"
            ));
        }
        // Pulsar subscriptions' dropped shares of a stored message discard
        // no entity (`p_drop_share`).
        if self.totals.dropped != l.discarded + self.pulsar.dropped_shares {
            return Err(format!(
                "dropped {} != discarded {} + Pulsar dropped shares {}",
                self.totals.dropped, l.discarded, self.pulsar.dropped_shares
            ));
        }
        let (queued, unacked) = self.check_queues()?;
        let (rq, ru) = self.check_redis()?;
        let (pq, pu) = self.check_pulsar()?;
        let (queued, unacked) = (queued + rq + pq, unacked + ru + pu);
        if queued != l.queued || unacked != l.unacked {
            return Err(format!(
                "queued {queued}/{} unacked {unacked}/{}",
                l.queued, l.unacked
            ));
        }
        self.check_consumers()?;
        self.check_breakers()?;
        self.check_sqs()?;
        self.check_retry_waits()?;
        self.check_ext_refs()?;
        self.check_effects()?;
        // Topic records are published but live in partition logs, not the arena.
        // Pulsar and Redis stream copies in the totals are per extra reader
        // (no entity); their deliveries are entities not counted as copies.
        let messages = self.totals.published - self.streams.records_published;
        let reader_copies = self.pulsar.reader_copies + self.redis.reader_copies;
        let copy_entities = self.pulsar.copy_entities + self.redis.copy_entities;
        if messages + self.totals.copies - reader_copies + copy_entities != l.created {
            return Err(format!(
                "published {} (of which {} topic records) + copies {} (of which {} per extra log reader) + {} delivery entities != created {}",
                self.totals.published,
                self.streams.records_published,
                self.totals.copies,
                reader_copies,
                copy_entities,
                l.created
            ));
        }
        self.check_topics()?;
        self.check_groups()?;
        self.check_event_stores()?;
        Ok(())
    }
}

impl Engine {
    /// Every extension record counts exactly the live messages pointing at
    /// it, and free ones are listed as free.
    fn check_ext_refs(&self) -> Result<(), String> {
        let mut refs = vec![0u32; self.exts.len()];
        for m in &self.msgs {
            if m.ext != super::message::NO_EXT {
                if m.state == super::message::MsgState::Free {
                    return Err(format!("free slot keeps extension {}", m.ext));
                }
                refs[m.ext as usize] += 1;
            }
        }
        for (e, x) in self.exts.iter().enumerate() {
            if x.refs != refs[e] {
                return Err(format!(
                    "extension {e} counts {} users, {} point at it",
                    x.refs, refs[e]
                ));
            }
        }
        if self.ext_free.len() != refs.iter().filter(|&&r| r == 0).count() {
            return Err("extension free list disagrees with unused records".into());
        }
        Ok(())
    }
}
