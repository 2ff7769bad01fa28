//! Seeded inputs for the criterion benches of the hot kernels (see `benches/kernels.rs`).

/// xorshift64*: a fixed, dependency-free stream for reproducible bench inputs.
pub struct Stream(u64);

impl Stream {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A change mask like the peers' scene: blobs of change plus 0.1 % specks and 2 % holes.
pub fn blob_mask(n: usize, seed: u64) -> Vec<u8> {
    let mut s = Stream::new(seed);
    let mut m = vec![0u8; n * n];
    let blobs = n * n / 14_000;
    for _ in 0..blobs {
        let (cx, cy, r) = (
            s.unit() * n as f32,
            s.unit() * n as f32,
            2.0 + 20.0 * s.unit() * s.unit(),
        );
        let (x0, x1) = ((cx - r).max(0.0) as usize, ((cx + r) as usize).min(n - 1));
        let (y0, y1) = ((cy - r).max(0.0) as usize, ((cy + r) as usize).min(n - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                if dx * dx + dy * dy <= r * r + 2.0 * (s.unit() - 0.5) * r {
                    m[y * n + x] = (s.unit() > 0.02) as u8;
                }
            }
        }
    }
    for v in m.iter_mut() {
        if s.unit() < 0.001 {
            *v = 1;
        }
    }
    m
}
