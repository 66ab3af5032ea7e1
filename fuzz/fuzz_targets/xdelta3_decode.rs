#![no_main]
use libfuzzer_sys::fuzz_target;

// Natively, through the native module's own wrappers and caps.
fuzz_target!(|data: &[u8]| {
    let (old, delta) = oms_accel_guest::fuzz::split(data);
    oms_accel_codecs::fuzz::xdelta3_decode(old, delta)
});
