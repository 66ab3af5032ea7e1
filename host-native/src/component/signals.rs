//! Signal-based traps that survive handlers installed after the engine's.
//!
//! With signal-based traps, Cranelift leaves out the explicit bounds check
//! before every load and store of linear memory (a 4 GiB reservation with
//! guard pages catches what falls outside), and a trap is a hardware fault:
//! SIGSEGV for a wild access, SIGILL for `unreachable` (every guest panic),
//! SIGFPE for an integer division by zero. Measured on the Rust host: a
//! `get` from a 10 MB document 26.9 -> 20.1 ms, an 8 MiB VCDIFF encode
//! 32.3 -> 28.9 ms.
//!
//! wasmtime's handler must see those faults first. It installs itself once
//! per process, when the first engine starts, and hands what is not a wasm
//! trap to the handler it displaced. Whoever installs a handler later puts
//! theirs in front: `faulthandler.enable()` (pytest calls it; so may an
//! application, after it has used this module) then takes a guest's trap for
//! a crash of the process, prints a traceback and ends it.
//!
//! So a handler of ours stands in front of wasmtime's ([`guard`]):
//! - a hardware fault whose instruction is in the compiled component goes
//!   to wasmtime, which turns it into a `Trap`;
//! - anything else goes to the handler that was in front when ours was put
//!   back (see [`ensure`]), or, if none, to wasmtime's (which passes it on
//!   down the chain it found).
//!
//! Before every entry into wasm, [`ensure`] checks that ours is still in
//! front (two `sigaction` reads, about 0.3 us a call) and, if another took
//! its place, puts it back with that one behind it. Chains of handlers
//! that refer to one another can loop; two rules end that:
//! - a signal that a handler we forwarded to raises again (faulthandler
//!   re-raises a fault after printing, to reach the handler it displaced,
//!   which is ours) goes down wasmtime's chain, as if ours were not there;
//! - the same fault (signal, instruction and address) coming back three
//!   times in a row means the handler we forward to does nothing with it (a
//!   disabled faulthandler's): it goes down wasmtime's chain instead, which
//!   ends in the default action.
//!
//! The one gap: a handler installed by another thread while a call is in
//! wasm is in front until the next call. Only Linux on x86-64 and aarch64
//! reads the faulting instruction's address; elsewhere traps stay explicit.

use std::ops::Range;

/// Whether this build traps by signals (the engine's setting).
pub const ENABLED: bool = cfg!(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
));

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    use super::Range;
    use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// The signals wasmtime traps with, as it installs them.
    const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGILL, libc::SIGFPE, libc::SIGBUS];

    /// wasmtime's handler for each of SIGNALS (0 until [`guard`]).
    static WASMTIME: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
    /// The handler ours displaced last, for each signal: leaked, never freed
    /// (a handler may read it at any time); null if none.
    static DISPLACED: [AtomicPtr<libc::sigaction>; 4] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; 4];
    /// The compiled components' address ranges, start and end (0, 0: free):
    /// a process loads one, or a few (a forked child loads its own), and the
    /// oldest gives way to a ninth.
    static CODE: [(AtomicUsize, AtomicUsize); 8] =
        [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 8];
    /// How many ranges were ever recorded: the next goes to this modulo 8.
    static RECORDED: AtomicUsize = AtomicUsize::new(0);
    /// The thread (`gettid`) running a displaced handler from ours, 0 if none.
    static FORWARDING: AtomicU64 = AtomicU64::new(0);
    /// The last fault forwarded (signal, instruction, address) and how many
    /// times in a row.
    static LAST: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
    /// A SA_SIGINFO handler, as `sa_sigaction` holds its address.
    type InfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
    /// Serializes [`guard`] and [`ensure`]'s changes.
    static INSTALL: Mutex<()> = Mutex::new(());
    /// Times the same fault may come back before it goes down wasmtime's chain.
    const REPEATS: usize = 3;

    fn slot(sig: libc::c_int) -> Option<usize> {
        SIGNALS.iter().position(|&s| s == sig)
    }

    fn current(sig: libc::c_int) -> libc::sigaction {
        // SAFETY: reading the disposition only; `old` is a valid out-pointer.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old);
            old
        }
    }

    fn ours() -> libc::sigaction {
        // SAFETY: a zeroed sigaction is valid; the mask is then emptied.
        let mut a: libc::sigaction = unsafe { std::mem::zeroed() };
        // wasmtime's flags: SA_ONSTACK so a stack overflow can be handled,
        // SA_NODEFER so a handler that faults reaches the next one.
        a.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
        a.sa_sigaction = handler as *const () as usize;
        // SAFETY: `a.sa_mask` is a valid sigset_t.
        unsafe { libc::sigemptyset(&mut a.sa_mask) };
        a
    }

    /// Called once the first engine has started (so wasmtime's handlers are
    /// in place) with `before`, the handlers read just before it started:
    /// records wasmtime's, puts ours in front, and records `code` as wasm.
    pub fn guard(before: &[usize; 4], code: Range<*const u8>) {
        let _lock = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
        let (start, end) = (code.start as usize, code.end as usize);
        if !CODE.iter().any(|r| r.0.load(Ordering::Acquire) == start) {
            let r = &CODE[RECORDED.fetch_add(1, Ordering::AcqRel) % CODE.len()];
            // Emptied first, so a handler never sees half of two ranges.
            r.1.store(0, Ordering::Release);
            r.0.store(start, Ordering::Release);
            r.1.store(end, Ordering::Release);
        }
        for (i, &sig) in SIGNALS.iter().enumerate() {
            if WASMTIME[i].load(Ordering::Acquire) != 0 {
                continue;
            }
            let now = current(sig).sa_sigaction;
            if now != before[i] && now != libc::SIG_DFL && now != libc::SIG_IGN {
                WASMTIME[i].store(now, Ordering::Release);
            }
        }
        put_back();
    }

    /// The handlers now in front, for [`guard`]'s `before`.
    pub fn snapshot() -> [usize; 4] {
        SIGNALS.map(|s| current(s).sa_sigaction)
    }

    /// Puts ours back in front of whatever displaced it; before every entry
    /// into wasm.
    ///
    /// Each read is a system call (0.15 us here), so only SIGSEGV and
    /// SIGILL are read: the guest's traps are those two (a wild access, and
    /// `unreachable`, where every Rust panic ends). Rust checks a division
    /// by zero or overflow before it divides, so no SIGFPE comes from its
    /// code, and wasm's memory faults are SIGSEGV on Linux. Whoever takes
    /// one of the four (faulthandler takes all) is put behind ours for all.
    #[inline]
    pub fn ensure() {
        let mine = handler as *const () as usize;
        if SIGNALS[..2]
            .iter()
            .all(|&s| current(s).sa_sigaction == mine)
        {
            return;
        }
        let _lock = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
        put_back();
    }

    fn put_back() {
        let mine = ours();
        for (i, &sig) in SIGNALS.iter().enumerate() {
            if WASMTIME[i].load(Ordering::Acquire) == 0 {
                continue; // wasmtime's was never seen: nothing to stand in front of
            }
            let now = current(sig);
            if now.sa_sigaction == mine.sa_sigaction {
                continue;
            }
            if now.sa_sigaction != WASMTIME[i].load(Ordering::Acquire) {
                DISPLACED[i].store(Box::into_raw(Box::new(now)), Ordering::Release);
            }
            // SAFETY: installing a valid sigaction for a valid signal.
            unsafe { libc::sigaction(sig, &mine, std::ptr::null_mut()) };
        }
    }

    fn in_wasm(pc: usize) -> bool {
        CODE.iter().any(|(start, end)| {
            let (s, e) = (start.load(Ordering::Acquire), end.load(Ordering::Acquire));
            s <= pc && pc < e
        })
    }

    /// The faulting instruction's address.
    ///
    /// # Safety
    /// `ctx` is the `ucontext_t` the kernel passed a SA_SIGINFO handler.
    unsafe fn pc(ctx: *mut libc::c_void) -> usize {
        let uc = ctx as *const libc::ucontext_t;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as the function's contract says.
        return unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as the function's contract says.
        return unsafe { (*uc).uc_mcontext.pc as usize };
    }

    /// Runs the handler `a` describes, as the kernel would have.
    ///
    /// # Safety
    /// Called from a signal handler with the kernel's arguments.
    unsafe fn call(
        a: &libc::sigaction,
        sig: libc::c_int,
        info: *mut libc::siginfo_t,
        ctx: *mut libc::c_void,
    ) {
        type Plain = extern "C" fn(libc::c_int);
        // SAFETY: the address is a handler of the kind its flags say.
        unsafe {
            if a.sa_sigaction == libc::SIG_DFL || a.sa_sigaction == libc::SIG_IGN {
                // A fault returns to its instruction, which faults again
                // under this disposition (the kernel forces the default
                // action on an ignored fault).
                libc::sigaction(sig, a, std::ptr::null_mut());
            } else if a.sa_flags & libc::SA_SIGINFO != 0 {
                std::mem::transmute::<usize, InfoHandler>(a.sa_sigaction)(sig, info, ctx);
            } else {
                std::mem::transmute::<usize, Plain>(a.sa_sigaction)(sig);
            }
        }
    }

    /// How many times in a row the fault `key` (signal, instruction,
    /// address) has come, this one included.
    fn times_in_a_row(key: [usize; 3]) -> usize {
        let same = LAST[..3]
            .iter()
            .zip(key)
            .all(|(l, k)| l.load(Ordering::Relaxed) == k);
        if same {
            return LAST[3].fetch_add(1, Ordering::Relaxed) + 1;
        }
        for (l, k) in LAST[..3].iter().zip(key) {
            l.store(k, Ordering::Relaxed);
        }
        LAST[3].store(1, Ordering::Relaxed);
        1
    }

    extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let Some(i) = slot(sig) else { return };
        let wasmtime = WASMTIME[i].load(Ordering::Acquire);
        // SAFETY: wasmtime's handler takes SA_SIGINFO arguments.
        let to_wasmtime =
            || unsafe { std::mem::transmute::<usize, InfoHandler>(wasmtime)(sig, info, ctx) };
        // SAFETY: the kernel's arguments to a SA_SIGINFO handler.
        let (code, addr, pc) = unsafe { ((*info).si_code, (*info).si_addr() as usize, pc(ctx)) };
        // si_code > 0: raised by the hardware, not sent by kill() or raise().
        let fault = code > 0;
        if fault && in_wasm(pc) {
            return to_wasmtime();
        }
        let displaced = DISPLACED[i].load(Ordering::Acquire);
        // SAFETY: gettid is async-signal-safe.
        let tid = unsafe { libc::gettid() } as u64;
        if displaced.is_null() || FORWARDING.load(Ordering::Acquire) == tid {
            return to_wasmtime();
        }
        if fault && times_in_a_row([sig as usize, pc, addr]) >= REPEATS {
            LAST[3].store(0, Ordering::Relaxed);
            return to_wasmtime();
        }
        if FORWARDING
            .compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return to_wasmtime(); // another thread is forwarding: the plain chain
        }
        // SAFETY: `displaced` was leaked by put_back and is never freed.
        unsafe { call(&*displaced, sig, info, ctx) };
        FORWARDING.store(0, Ordering::Release);
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod imp {
    use super::Range;
    pub fn guard(_before: &[usize; 4], _code: Range<*const u8>) {}
    pub fn snapshot() -> [usize; 4] {
        [0; 4]
    }
    #[inline]
    pub fn ensure() {}
}

pub use imp::{ensure, guard, snapshot};
