namespace MMEureka.Torch;

public static partial class torch
{
    /// <summary>
    /// A seeded random number generator with a fixed, documented algorithm so that the same seed yields the same
    /// numbers on every machine and runtime: xoshiro256** (Blackman and Vigna) seeded through SplitMix64;
    /// uniform floats take the top 24 bits, normals use the Box-Muller transform in double precision.
    /// </summary>
    public sealed class Generator
    {
        private ulong _s0, _s1, _s2, _s3;

        /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
        public Generator(long seed = 0) => manual_seed(seed);

        /// <summary>The seed last given to this generator.</summary>
        public long initial_seed { get; private set; }

        /// <summary>Restarts the stream from <paramref name="seed"/>.</summary>
        public Generator manual_seed(long seed)
        {
            initial_seed = seed;
            ulong x = (ulong)seed;
            _s0 = SplitMix64(ref x);
            _s1 = SplitMix64(ref x);
            _s2 = SplitMix64(ref x);
            _s3 = SplitMix64(ref x);
            return this;
        }

        private static ulong SplitMix64(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>The next raw 64-bit output.</summary>
        public ulong NextUInt64()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }

        /// <summary>Uniform in [0, 1) with 24 random bits (every float32 step of 2^-24).</summary>
        public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

        /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Uniform integer in [0, <paramref name="n"/>) without modulo bias (Lemire's method).</summary>
        public int NextInt(int n)
        {
            if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "NextInt needs a positive bound");
            ulong bound = (ulong)n;
            ulong threshold = (0UL - bound) % bound;
            while (true)
            {
                ulong r = NextUInt64();
                UInt128 m = (UInt128)r * bound;
                if ((ulong)m >= threshold) return (int)(m >> 64);
            }
        }

        /// <summary>Fills <paramref name="dst"/> with standard normal samples (Box-Muller, pairs).</summary>
        public void FillNormal(Span<float> dst, float mean = 0, float std = 1)
        {
            for (int i = 0; i < dst.Length; i += 2)
            {
                double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
                double u2 = NextDouble();
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                dst[i] = (float)(mean + std * r * Math.Cos(2 * Math.PI * u2));
                if (i + 1 < dst.Length) dst[i + 1] = (float)(mean + std * r * Math.Sin(2 * Math.PI * u2));
            }
        }

        /// <summary>Fills <paramref name="dst"/> with uniform samples in [low, high).</summary>
        public void FillUniform(Span<float> dst, float low = 0, float high = 1)
        {
            for (int i = 0; i < dst.Length; i++) dst[i] = low + (high - low) * NextFloat();
        }
    }
}
