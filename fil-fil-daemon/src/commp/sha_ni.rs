//! Two-way interleaved SHA-NI hashing of whole tree levels.
//!
//! A single SHA-256 stream is bound by the latency of `sha256rnds2`: each pair of
//! rounds waits for the previous one. Tree nodes on one level are independent, so
//! hashing two at once fills those bubbles. The second block of every node is the
//! fixed padding block, whose message schedule is a constant: its `W + K` words
//! are computed at compile time and the schedule instructions skipped.
//!
//! This is the only `unsafe` in the crate: SIMD intrinsics behind a runtime CPU
//! check. [`ShaNi::detect`] is the only way to obtain the token that permits
//! calling them, and every pointer access is bounds-checked up front.
#![allow(unsafe_code)]

/// Proof that the CPU supports SHA-NI (plus the SSE levels the code uses).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShaNi(());

impl ShaNi {
    /// The token, if this CPU has the extensions.
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("sse2")
                && std::is_x86_feature_detected!("ssse3")
                && std::is_x86_feature_detected!("sse4.1")
            {
                return Some(Self(()));
            }
        }
        None
    }

    /// Hash every 64-byte message in `src` into the matching 32-byte node of
    /// `dst` (byte 31 masked). Does nothing if `dst` is shorter than `src / 2`.
    pub(crate) fn level(self, src: &[u8], dst: &mut [u8]) {
        let n = src.len() / 64;
        if dst.len() < n * 32 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token exists only if the CPU has every feature `level`
        // enables, and the lengths were checked above.
        unsafe {
            imp::level(src.as_ptr(), dst.as_mut_ptr(), n)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::*;

    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];

    /// `W[i] + K[i]` for the padding block of a 64-byte message.
    const PAD_WK: [u32; 64] = pad_wk();

    const fn pad_wk() -> [u32; 64] {
        let mut w = [0u32; 64];
        w[0] = 0x8000_0000;
        w[15] = 512;
        let mut i = 16;
        while i < 64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
            i += 1;
        }
        let mut i = 0;
        while i < 64 {
            w[i] = w[i].wrapping_add(K[i]);
            i += 1;
        }
        w
    }

    /// Four rounds on both streams; `$ta`/`$tb` are `W + K` for the group.
    macro_rules! rounds4x2 {
        ($abef_a:ident, $cdgh_a:ident, $ta:expr, $abef_b:ident, $cdgh_b:ident, $tb:expr) => {{
            let ta = $ta;
            let tb = $tb;
            $cdgh_a = _mm_sha256rnds2_epu32($cdgh_a, $abef_a, ta);
            $cdgh_b = _mm_sha256rnds2_epu32($cdgh_b, $abef_b, tb);
            $abef_a = _mm_sha256rnds2_epu32($abef_a, $cdgh_a, _mm_shuffle_epi32(ta, 0x0E));
            $abef_b = _mm_sha256rnds2_epu32($abef_b, $cdgh_b, _mm_shuffle_epi32(tb, 0x0E));
        }};
    }

    /// Message schedule: W[g] from W[g-4], W[g-3], W[g-2], W[g-1].
    #[inline(always)]
    unsafe fn schedule(v0: __m128i, v1: __m128i, v2: __m128i, v3: __m128i) -> __m128i {
        let t1 = _mm_sha256msg1_epu32(v0, v1);
        let t2 = _mm_alignr_epi8(v3, v2, 4);
        _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), v3)
    }

    /// Store a state as the 32-byte node: big-endian words, top two bits cleared.
    #[inline(always)]
    unsafe fn store(abef: __m128i, cdgh: __m128i, bswap: __m128i, top: __m128i, out: *mut u8) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
        let hgef = _mm_alignr_epi8(dchg, feba, 8);
        _mm_storeu_si128(out as *mut __m128i, _mm_shuffle_epi8(dcba, bswap));
        let hi = _mm_and_si128(_mm_shuffle_epi8(hgef, bswap), top);
        _mm_storeu_si128(out.add(16) as *mut __m128i, hi);
    }

    /// # Safety
    /// The CPU must support sha, sse2, ssse3 and sse4.1; `src` must hold `n * 64`
    /// readable bytes and `dst` `n * 32` writable bytes.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn level(src: *const u8, dst: *mut u8, n: usize) {
        let bswap = _mm_set_epi64x(
            0x0C0D_0E0F_0809_0A0Bu64 as i64,
            0x0405_0607_0001_0203u64 as i64,
        );
        let top = _mm_set_epi32(0x3fff_ffff, -1, -1, -1);
        let dcba = _mm_loadu_si128(IV.as_ptr() as *const __m128i);
        let efgh = _mm_loadu_si128(IV.as_ptr().add(4) as *const __m128i);
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(efgh, 0x1B);
        let iv_abef = _mm_alignr_epi8(cdab, efgh, 8);
        let iv_cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
        // Macros, not closures: closures would not inherit this fn's target features.
        macro_rules! k {
            ($table:ident, $g:expr) => {
                _mm_loadu_si128($table.as_ptr().add(4 * $g) as *const __m128i)
            };
        }
        macro_rules! load {
            ($p:expr, $q:expr) => {
                _mm_shuffle_epi8(_mm_loadu_si128($p.add(16 * $q) as *const __m128i), bswap)
            };
        }

        let mut i = 0;
        while i < n {
            // An odd last message is paired with itself and the copy discarded.
            let j = if i + 1 < n { i + 1 } else { i };
            let (pa, pb) = (src.add(64 * i), src.add(64 * j));
            let mut wa = [load!(pa, 0), load!(pa, 1), load!(pa, 2), load!(pa, 3)];
            let mut wb = [load!(pb, 0), load!(pb, 1), load!(pb, 2), load!(pb, 3)];
            let (mut abef_a, mut cdgh_a) = (iv_abef, iv_cdgh);
            let (mut abef_b, mut cdgh_b) = (iv_abef, iv_cdgh);
            for g in 0..16 {
                if g >= 4 {
                    let r = g % 4;
                    wa[r] = schedule(wa[r], wa[(r + 1) % 4], wa[(r + 2) % 4], wa[(r + 3) % 4]);
                    wb[r] = schedule(wb[r], wb[(r + 1) % 4], wb[(r + 2) % 4], wb[(r + 3) % 4]);
                }
                let kg = k!(K, g);
                rounds4x2!(
                    abef_a,
                    cdgh_a,
                    _mm_add_epi32(wa[g % 4], kg),
                    abef_b,
                    cdgh_b,
                    _mm_add_epi32(wb[g % 4], kg)
                );
            }
            abef_a = _mm_add_epi32(abef_a, iv_abef);
            cdgh_a = _mm_add_epi32(cdgh_a, iv_cdgh);
            abef_b = _mm_add_epi32(abef_b, iv_abef);
            cdgh_b = _mm_add_epi32(cdgh_b, iv_cdgh);

            let (sa, sc, sb, sd) = (abef_a, cdgh_a, abef_b, cdgh_b);
            for g in 0..16 {
                let t = k!(PAD_WK, g);
                rounds4x2!(abef_a, cdgh_a, t, abef_b, cdgh_b, t);
            }
            abef_a = _mm_add_epi32(abef_a, sa);
            cdgh_a = _mm_add_epi32(cdgh_a, sc);
            abef_b = _mm_add_epi32(abef_b, sb);
            cdgh_b = _mm_add_epi32(cdgh_b, sd);

            store(abef_a, cdgh_a, bswap, top, dst.add(32 * i));
            if j != i {
                store(abef_b, cdgh_b, bswap, top, dst.add(32 * j));
            }
            i += 2;
        }
    }
}
