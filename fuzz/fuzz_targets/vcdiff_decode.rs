#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| oms_accel_guest::fuzz::vcdiff_decode(data));
