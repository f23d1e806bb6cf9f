using MMEureka.Data;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka;

/// <summary>
/// Child seeds from a run's seed, one stream per purpose: <c>Seeds.Derive(seed, "rl-sample", step, row)</c>. The
/// purpose is hashed into the seed, so two uses (say, the prompts of a step and the draws of its rows) never share
/// a stream by accident of arithmetic, as ad hoc formulas like <c>seed * 7919 + step</c> can.
/// </summary>
public static class Seeds
{
    /// <summary>The seed of the stream named <paramref name="purpose"/> at <paramref name="indices"/>.</summary>
    public static long Derive(long seed, string purpose, params long[] indices)
    {
        ulong h = 0xCBF29CE484222325UL; // FNV-1a of the purpose: stable across runs and .NET versions
        foreach (char c in purpose) h = (h ^ c) * 0x100000001B3UL;
        ulong s = Rng.Mix((ulong)seed ^ Rng.Mix(h));
        foreach (long i in indices) s = Rng.Mix(s ^ Rng.Mix((ulong)i + 0x9E3779B97F4A7C15UL));
        return (long)(s >> 1); // non-negative, for APIs that take a long seed
    }

    /// <summary>Fisher-Yates shuffle of <paramref name="a"/> in place, drawing from <paramref name="g"/> (SFT's data
    /// order, stage 1's, RL's minibatch order).</summary>
    public static void Shuffle(int[] a, Generator g)
    {
        for (int j = a.Length - 1; j > 0; j--)
        {
            int r = g.NextInt(j + 1);
            (a[j], a[r]) = (a[r], a[j]);
        }
    }
}
