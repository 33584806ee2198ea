//! Single active consumer (RabbitMQ's `x-single-active-consumer`): a queue
//! that delivers to one consumer instance at a time and fails over to the
//! next registered one when that instance goes away.
//!
//!   subscribers (registration order): [ A  B  C ]
//!   active A ──crash──► B (the next up after A) ── A restarts: a standby
//!   behind C ── B crashes ──► C ── C crashes ──► A
//!
//! RabbitMQ's consumers guide: the first registered consumer is the active
//! one and the others are ignored; when it is cancelled or dies another
//! registered consumer takes over. QueueLab registers consumers in scenario
//! order (instance by instance; with consumer priorities the subscriber list
//! is sorted highest first, so the highest priority is active, as a quorum
//! queue in RabbitMQ 4 ends up choosing) and models a restarted instance as
//! registering again behind the others, which is what picking "the next up
//! instance after the old active, round the ring" gives. Guarantees: at most
//! one instance of the queue receives deliveries; while it is up and has no
//! prefetch room, nothing is delivered (the standbys do not help); a queue
//! without the flag is untouched. The active instance is chosen lazily, at
//! the next dispatch, so a failover needs no event of its own.

use crate::engine::core::Engine;

impl Engine {
    /// The instance that is, or at the next dispatch becomes, the single
    /// active consumer of `q`: the current one while it is up, else the
    /// first up instance after it in registration order (`None`: none is up).
    pub(crate) fn sac_candidate(&self, q: u32) -> Option<(u32, u32)> {
        let qs = &self.queues[q as usize];
        let subs = &qs.subscribers;
        let up = |&(c, i): &(u32, u32)| self.consumers[c as usize].instances[i as usize].up;
        let start = match qs
            .sac_active
            .and_then(|a| subs.iter().position(|&s| s == a))
        {
            Some(k) if up(&subs[k]) => return Some(subs[k]),
            Some(k) => k + 1,
            None => 0,
        };
        (0..subs.len())
            .map(|d| subs[(start + d) % subs.len()])
            .find(|s| up(s))
    }

    /// The next delivery of a single-active-consumer queue: its active
    /// instance, if that has prefetch room. Records the failover.
    pub(crate) fn sac_next(&mut self, q: u32) -> Option<(u32, u32)> {
        let (c, i) = self.sac_candidate(q)?;
        self.queues[q as usize].sac_active = Some((c, i));
        self.instance_has_room(c, i).then_some((c, i))
    }

    /// Is instance `(c, i)` a standby of a single-active-consumer queue (up,
    /// registered, and not the active one)?
    pub(crate) fn sac_standby(&self, c: u32, i: u32) -> bool {
        let q = self.consumers[c as usize].queue;
        let Some(qs) = self.queues.get(q as usize) else {
            return false;
        };
        qs.sac
            && self.consumers[c as usize].instances[i as usize].up
            && self.sac_candidate(q) != Some((c, i))
    }
}
