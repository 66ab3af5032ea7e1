//! The address cache of RFC 3284 section 5.1: COPY addresses are coded
//! relative to recent ones. Reset at the start of every window.

use super::code_table::{NEAR_SLOTS, SAME_SLOTS};
use super::varint;
use crate::{Error, Result};

pub const MODE_SELF: u8 = 0;
pub const MODE_HERE: u8 = 1;

pub struct AddrCache {
    near: [u64; NEAR_SLOTS],
    next_slot: usize,
    same: Box<[u64; SAME_SLOTS * 256]>,
}

impl Default for AddrCache {
    fn default() -> Self {
        AddrCache {
            near: [0; NEAR_SLOTS],
            next_slot: 0,
            same: Box::new([0; SAME_SLOTS * 256]),
        }
    }
}

impl AddrCache {
    pub fn reset(&mut self) {
        self.near = [0; NEAR_SLOTS];
        self.next_slot = 0;
        self.same.fill(0);
    }

    fn update(&mut self, addr: u64) {
        self.near[self.next_slot] = addr;
        self.next_slot = (self.next_slot + 1) % NEAR_SLOTS;
        self.same[(addr % (SAME_SLOTS as u64 * 256)) as usize] = addr;
    }

    /// Decodes the address of a COPY in `mode` at position `here` of the
    /// combined source+target space, reading from the address section.
    pub fn decode(&mut self, here: u64, mode: u8, addrs: &[u8], pos: &mut usize) -> Result<u64> {
        let addr = match mode {
            MODE_SELF => varint::read(addrs, pos, "a COPY address")?,
            MODE_HERE => {
                let back = varint::read(addrs, pos, "a COPY address")?;
                here.checked_sub(back)
                    .ok_or_else(|| Error::corrupt("COPY address before the start of the window"))?
            }
            m if (m as usize) < 2 + NEAR_SLOTS => {
                let off = varint::read(addrs, pos, "a COPY address")?;
                self.near[m as usize - 2]
                    .checked_add(off)
                    .ok_or_else(|| Error::corrupt("COPY address overflows"))?
            }
            m => {
                let Some(&b) = addrs.get(*pos) else {
                    return Err(Error::truncated("the delta ends inside a COPY address"));
                };
                *pos += 1;
                self.same[(m as usize - 2 - NEAR_SLOTS) * 256 + b as usize]
            }
        };
        if addr >= here {
            return Err(Error::corrupt(format!(
                "COPY address {addr} is not before the current position {here}"
            )));
        }
        self.update(addr);
        Ok(addr)
    }

    /// The cheapest mode for `addr` at `here`, with the value it writes
    /// (`None`: a byte of the same cache) and the bytes that value takes.
    fn choose(&self, addr: u64, here: u64) -> (u8, Option<u64>, usize) {
        let same_idx = (addr % (SAME_SLOTS as u64 * 256)) as usize;
        if self.same[same_idx] == addr {
            return (2 + NEAR_SLOTS as u8 + (same_idx / 256) as u8, None, 1);
        }
        let mut best = (MODE_SELF, addr, varint::len(addr));
        let here_val = here - addr;
        if varint::len(here_val) < best.2 {
            best = (MODE_HERE, here_val, varint::len(here_val));
        }
        for (i, &n) in self.near.iter().enumerate() {
            if addr >= n && varint::len(addr - n) < best.2 {
                best = (2 + i as u8, addr - n, varint::len(addr - n));
            }
        }
        (best.0, Some(best.1), best.2)
    }

    /// Bytes the address `addr` of a COPY at `here` would take now: what
    /// the encoder's match finder weighs candidate copies by.
    pub fn cost(&self, addr: u64, here: u64) -> usize {
        self.choose(addr, here).2
    }

    /// Records a COPY from `addr` without writing it (the match finder's
    /// model of the cache the encoder will have).
    pub fn note(&mut self, addr: u64) {
        self.update(addr);
    }

    /// Picks the cheapest mode for `addr` at `here`, appends its encoding
    /// to `out` and updates the cache. Returns the mode.
    pub fn encode(&mut self, addr: u64, here: u64, out: &mut Vec<u8>) -> u8 {
        debug_assert!(addr < here);
        let (mode, value, _) = self.choose(addr, here);
        match value {
            Some(v) => varint::write(out, v),
            None => out.push((addr % 256) as u8),
        }
        self.update(addr);
        mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_gives_the_same_addresses() {
        let mut enc = AddrCache::default();
        let mut dec = AddrCache::default();
        let mut buf = Vec::new();
        let cases = [
            (5u64, 10u64),
            (5, 20),
            (700, 1000),
            (705, 1200),
            (1, 2000),
            (1999, 2000),
        ];
        let modes: Vec<u8> = cases
            .iter()
            .map(|&(a, h)| enc.encode(a, h, &mut buf))
            .collect();
        let mut pos = 0;
        for (&(a, h), &m) in cases.iter().zip(&modes) {
            assert_eq!(dec.decode(h, m, &buf, &mut pos).unwrap(), a);
        }
        assert_eq!(pos, buf.len());
        // The repeated address 5 hits the same cache.
        assert!(modes[1] >= 6);
    }
}
