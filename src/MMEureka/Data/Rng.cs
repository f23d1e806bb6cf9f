namespace MMEureka.Data;

/// <summary>
/// SplitMix64: a tiny, fast, well-mixed PRNG whose whole state is one 64-bit word. Each problem gets its own stream
/// from (seed, split, index, attempt), so generation is deterministic in any order and in parallel. System.Random and
/// HashCode are avoided on purpose: their sequences are not promised to stay the same across .NET versions.
/// </summary>
public sealed class Rng(ulong state)
{
    ulong _state = state;

    /// <summary>The stream of one problem: the seed mixed with the split, index and retry attempt.</summary>
    public static Rng For(ulong seed, Split split, int index, int attempt = 0)
    {
        ulong s = Mix(seed ^ 0x4D4D4B3132UL); // "MMK12"
        s = Mix(s ^ ((ulong)split + 1) * 0x9E3779B97F4A7C15UL);
        s = Mix(s ^ (ulong)(uint)index);
        s = Mix(s ^ (ulong)(uint)attempt * 0xD1B54A32D192ED03UL);
        return new Rng(s);
    }

    /// <summary>SplitMix64's output function (Steele, Lea, Flood 2014).</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextULong() => Mix(_state += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, n) by multiply-shift; the bias is below 2^-32 for the small n used here.</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)(((NextULong() >> 32) * (ulong)n) >> 32);
    }

    /// <summary>Uniform integer in [min, max], both inclusive.</summary>
    public int Int(int min, int max) => min + Next(max - min + 1);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>One element, uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>k distinct indices from [0, n), in random order (partial Fisher-Yates).</summary>
    public int[] Sample(int n, int k)
    {
        var all = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + Next(n - i);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all[..k];
    }
}
