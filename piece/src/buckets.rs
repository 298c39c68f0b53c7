//! Availability buckets: the pieces of one priority level, ordered rarest first.
//!
//! One vector holds the level's pieces sorted by availability; `start[a]` is
//! where the bucket of availability `a` begins (it ends where bucket `a + 1`
//! begins). A piece whose availability goes up or down by one moves to the
//! neighbouring bucket with one swap and one boundary shift: O(1). Inserting
//! or removing a piece walks the buckets between its own and the top one:
//! O(number of distinct availabilities), bounded by the number of peers.
//! Pieces inside a bucket are in random order (shuffled at build and on
//! insertion), which is the random tie-break of rarest-first.

use crate::rng::Rng;

/// The pieces of one priority level in availability order.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    /// Pieces sorted by availability bucket.
    pub(crate) pieces: Vec<u32>,
    /// `start[a]`: the first position of availability bucket `a`.
    start: Vec<u32>,
}

impl Level {
    /// Builds a level from its pieces; `counts[p]` is piece `p`'s availability,
    /// `pos[p]` is set to its position. Counting sort, then a shuffle per bucket.
    pub(crate) fn build(members: &[u32], counts: &[u32], pos: &mut [u32], rng: &mut Rng) -> Self {
        let max = members
            .iter()
            .map(|&p| counts[p as usize])
            .max()
            .unwrap_or(0) as usize;
        let mut start = vec![0u32; max + 2];
        for &p in members {
            start[counts[p as usize] as usize + 1] += 1;
        }
        for a in 1..start.len() {
            start[a] += start[a - 1];
        }
        let mut fill = start.clone();
        let mut pieces = vec![0u32; members.len()];
        for &p in members {
            let slot = &mut fill[counts[p as usize] as usize];
            pieces[*slot as usize] = p;
            *slot += 1;
        }
        start.pop();
        for a in 0..start.len() {
            let lo = start[a] as usize;
            let hi = start.get(a + 1).map_or(pieces.len(), |&e| e as usize);
            // Fisher-Yates inside the bucket.
            for i in (lo + 1..hi).rev() {
                let j = lo + rng.below((i - lo + 1) as u32) as usize;
                pieces.swap(i, j);
            }
        }
        for (i, &p) in pieces.iter().enumerate() {
            pos[p as usize] = i as u32;
        }
        Self { pieces, start }
    }

    pub(crate) fn len(&self) -> usize {
        self.pieces.len()
    }

    /// The first position of bucket `a` (the end of the vector past the top bucket).
    pub(crate) fn bucket_start(&self, a: u32) -> usize {
        self.start
            .get(a as usize)
            .map_or(self.pieces.len(), |&s| s as usize)
    }

    fn end(&self, a: usize) -> u32 {
        self.start
            .get(a + 1)
            .copied()
            .unwrap_or(self.pieces.len() as u32)
    }

    fn swap(&mut self, pos: &mut [u32], i: u32, j: u32) {
        if i != j {
            let (a, b) = (self.pieces[i as usize], self.pieces[j as usize]);
            self.pieces.swap(i as usize, j as usize);
            pos[a as usize] = j;
            pos[b as usize] = i;
        }
    }

    /// `piece`'s availability goes from `old` to `old + 1`.
    pub(crate) fn inc(&mut self, pos: &mut [u32], piece: u32, old: u32) {
        let old = old as usize;
        if old + 1 >= self.start.len() {
            self.start.push(self.pieces.len() as u32);
        }
        let last = self.start[old + 1] - 1;
        self.swap(pos, pos[piece as usize], last);
        self.start[old + 1] -= 1;
    }

    /// `piece`'s availability goes from `old` (at least 1) to `old - 1`.
    pub(crate) fn dec(&mut self, pos: &mut [u32], piece: u32, old: u32) {
        let first = self.start[old as usize];
        self.swap(pos, pos[piece as usize], first);
        self.start[old as usize] += 1;
    }

    /// Adds `piece` with availability `count` at a random place in its bucket.
    pub(crate) fn insert(&mut self, pos: &mut [u32], piece: u32, count: u32, rng: &mut Rng) {
        let count = count as usize;
        while self.start.len() <= count {
            self.start.push(self.pieces.len() as u32);
        }
        self.pieces.push(piece);
        pos[piece as usize] = self.pieces.len() as u32 - 1;
        // It is the last piece of the top bucket; walk it down to `count`.
        for b in (count + 1..self.start.len()).rev() {
            let first = self.start[b];
            self.swap(pos, pos[piece as usize], first);
            self.start[b] += 1;
        }
        let lo = self.start[count];
        let size = self.end(count) - lo;
        let r = lo + rng.below(size);
        self.swap(pos, pos[piece as usize], r);
    }

    /// Removes `piece` (availability `count`).
    pub(crate) fn remove(&mut self, pos: &mut [u32], piece: u32, count: u32) {
        // Walk it up to the top bucket, then off the end.
        for b in count as usize..self.start.len() - 1 {
            let last = self.start[b + 1] - 1;
            self.swap(pos, pos[piece as usize], last);
            self.start[b + 1] -= 1;
        }
        let last = self.pieces.len() as u32 - 1;
        self.swap(pos, pos[piece as usize], last);
        self.pieces.pop();
    }

    /// Checks the level's internal consistency.
    pub(crate) fn check(&self, counts: &[u32], pos: &[u32]) -> Result<(), String> {
        for (i, &p) in self.pieces.iter().enumerate() {
            if pos[p as usize] as usize != i {
                return Err(format!("piece {p} at {i} but pos says {}", pos[p as usize]));
            }
            let a = counts[p as usize] as usize;
            if a >= self.start.len() || !(self.start[a] as usize <= i && i < self.end(a) as usize) {
                return Err(format!(
                    "piece {p} (availability {a}) at {i} outside its bucket"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_keep_order() {
        let mut rng = Rng::new(7);
        let mut counts = vec![0u32, 1, 2, 0, 1, 3, 0, 2];
        let mut pos = vec![u32::MAX; counts.len()];
        let members: Vec<u32> = (0..counts.len() as u32).collect();
        let mut level = Level::build(&members, &counts, &mut pos, &mut rng);
        level.check(&counts, &pos).unwrap();
        for step in 0..200u32 {
            let p = rng.below(counts.len() as u32);
            if pos[p as usize] == u32::MAX {
                level.insert(&mut pos, p, counts[p as usize], &mut rng);
            } else {
                match step % 3 {
                    0 => {
                        level.inc(&mut pos, p, counts[p as usize]);
                        counts[p as usize] += 1;
                    }
                    1 if counts[p as usize] > 0 => {
                        level.dec(&mut pos, p, counts[p as usize]);
                        counts[p as usize] -= 1;
                    }
                    _ => {
                        level.remove(&mut pos, p, counts[p as usize]);
                        pos[p as usize] = u32::MAX;
                    }
                }
            }
            level.check(&counts, &pos).unwrap();
            let in_order: Vec<u32> = level.pieces.iter().map(|&p| counts[p as usize]).collect();
            let mut expect = in_order.clone();
            expect.sort_unstable();
            assert_eq!(in_order, expect);
        }
    }
}
