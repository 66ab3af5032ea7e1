//! The default instruction code table of RFC 3284 section 5.6, built the way
//! the RFC (and xdelta3's `xd3_build_code_table`) builds it, plus the
//! reverse lookups the encoder uses to pick one byte per instruction pair.

/// Instruction types. COPY carries its address mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inst {
    Noop,
    Add,
    Run,
    Copy(u8),
}

/// One half of a code table entry: the instruction and its size, where
/// size 0 means "the size follows as a varint in the instruction section".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Half {
    pub inst: Inst,
    pub size: u8,
}

pub const NEAR_SLOTS: usize = 4;
pub const SAME_SLOTS: usize = 3;
/// SELF, HERE, the near slots, the same slots.
pub const MODES: u8 = (2 + NEAR_SLOTS + SAME_SLOTS) as u8;

pub type Entry = [Half; 2];

const NOOP: Half = Half {
    inst: Inst::Noop,
    size: 0,
};

/// The 256 entries of the default code table, built at compile time (a
/// decoder built it per delta: a twentieth of a small document's decode).
pub static DEFAULT_TABLE: [Entry; 256] = default_table();

const fn default_table() -> [Entry; 256] {
    const fn h(inst: Inst, size: u8) -> Half {
        Half { inst, size }
    }
    let mut t = [[NOOP; 2]; 256];
    let mut i = 0;
    t[i] = [h(Inst::Run, 0), NOOP];
    i += 1;
    let mut size = 0;
    while size <= 17 {
        t[i] = [h(Inst::Add, size), NOOP];
        i += 1;
        size += 1;
    }
    let mut mode = 0;
    while mode < MODES {
        t[i] = [h(Inst::Copy(mode), 0), NOOP];
        i += 1;
        let mut size = 4;
        while size <= 18 {
            t[i] = [h(Inst::Copy(mode), size), NOOP];
            i += 1;
            size += 1;
        }
        mode += 1;
    }
    let mut mode = 0;
    while mode < MODES {
        let max_copy = if mode < 6 { 6 } else { 4 };
        let mut add = 1;
        while add <= 4 {
            let mut copy = 4;
            while copy <= max_copy {
                t[i] = [h(Inst::Add, add), h(Inst::Copy(mode), copy)];
                i += 1;
                copy += 1;
            }
            add += 1;
        }
        mode += 1;
    }
    let mut mode = 0;
    while mode < MODES {
        t[i] = [h(Inst::Copy(mode), 4), h(Inst::Add, 1)];
        i += 1;
        mode += 1;
    }
    assert!(i == 256);
    t
}

/// Opcode of a lone ADD of `size` (1..=17), or the varint-size form for 0.
pub fn add_opcode(size: u64) -> (u8, bool) {
    if (1..=17).contains(&size) {
        (1 + size as u8, false)
    } else {
        (1, true)
    }
}

/// Opcode of a lone RUN: always the varint-size form.
pub const RUN_OPCODE: u8 = 0;

/// Opcode of a lone COPY in `mode` of `size`, and whether the size follows
/// as a varint.
pub fn copy_opcode(mode: u8, size: u64) -> (u8, bool) {
    let base = 19 + 16 * mode;
    if (4..=18).contains(&size) {
        (base + (size as u8 - 3), false)
    } else {
        (base, true)
    }
}

/// Opcode of ADD(add) immediately followed by COPY(copy, mode), if the
/// default table has one.
pub fn add_copy_opcode(add: u64, copy: u64, mode: u8) -> Option<u8> {
    if !(1..=4).contains(&add) || !(4..=6).contains(&copy) {
        return None;
    }
    let (add, copy) = (add as u8, copy as u8);
    if mode < 6 {
        (4..=6)
            .contains(&copy)
            .then(|| 163 + mode * 12 + (add - 1) * 3 + (copy - 4))
    } else {
        (copy == 4).then(|| 235 + (mode - 6) * 4 + (add - 1))
    }
}

/// Opcode of COPY(4, mode) immediately followed by ADD(1).
pub fn copy_add_opcode(copy: u64, mode: u8, add: u64) -> Option<u8> {
    (copy == 4 && add == 1).then(|| 247 + mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_rfc_rows() {
        let t = &DEFAULT_TABLE;
        assert_eq!(
            t[0][0],
            Half {
                inst: Inst::Run,
                size: 0
            }
        );
        assert_eq!(
            t[18][0],
            Half {
                inst: Inst::Add,
                size: 17
            }
        );
        assert_eq!(
            t[19][0],
            Half {
                inst: Inst::Copy(0),
                size: 0
            }
        );
        assert_eq!(
            t[162][0],
            Half {
                inst: Inst::Copy(8),
                size: 18
            }
        );
        assert_eq!(
            t[163],
            [
                Half {
                    inst: Inst::Add,
                    size: 1
                },
                Half {
                    inst: Inst::Copy(0),
                    size: 4
                }
            ]
        );
        assert_eq!(
            t[234],
            [
                Half {
                    inst: Inst::Add,
                    size: 4
                },
                Half {
                    inst: Inst::Copy(5),
                    size: 6
                }
            ]
        );
        assert_eq!(
            t[246],
            [
                Half {
                    inst: Inst::Add,
                    size: 4
                },
                Half {
                    inst: Inst::Copy(8),
                    size: 4
                }
            ]
        );
        assert_eq!(
            t[255],
            [
                Half {
                    inst: Inst::Copy(8),
                    size: 4
                },
                Half {
                    inst: Inst::Add,
                    size: 1
                }
            ]
        );
    }

    #[test]
    fn reverse_lookups_agree_with_table() {
        let t = &DEFAULT_TABLE;
        for size in 1..=17 {
            let (op, varint) = add_opcode(size);
            assert!(!varint);
            assert_eq!(
                t[op as usize][0],
                Half {
                    inst: Inst::Add,
                    size: size as u8
                }
            );
        }
        for mode in 0..MODES {
            for size in 4..=18 {
                let (op, _) = copy_opcode(mode, size);
                assert_eq!(
                    t[op as usize][0],
                    Half {
                        inst: Inst::Copy(mode),
                        size: size as u8
                    }
                );
            }
            for add in 1..=4 {
                for copy in 4..=6 {
                    if let Some(op) = add_copy_opcode(add, copy, mode) {
                        assert_eq!(
                            t[op as usize],
                            [
                                Half {
                                    inst: Inst::Add,
                                    size: add as u8
                                },
                                Half {
                                    inst: Inst::Copy(mode),
                                    size: copy as u8
                                }
                            ]
                        );
                    }
                }
            }
            let op = copy_add_opcode(4, mode, 1).unwrap();
            assert_eq!(
                t[op as usize][1],
                Half {
                    inst: Inst::Add,
                    size: 1
                }
            );
        }
    }
}
