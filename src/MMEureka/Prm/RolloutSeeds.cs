using MMEureka.Data;

namespace MMEureka.Prm;

/// <summary>What a rollout's random stream is for: the search itself, or the Math-Shepherd per-step baseline run on
/// the same solutions (its draws must not repeat the search's).</summary>
public enum RolloutPurpose { Search, StepwiseBaseline }

/// <summary>
/// The seed of one rollout, separating the run seed, the problem, the search within the problem (0 = the root
/// screen, s = the s-th binary search) and the rollout within that search. Every rollout's draws therefore depend
/// on what it is, not on which other rollouts share its sampling batch or on the order problems finish in.
/// </summary>
public static class RolloutSeeds
{
    /// <summary>The seed of rollout <paramref name="rollout"/> of search <paramref name="search"/> on problem
    /// <paramref name="problemIndex"/> (SplitMix64 over each part in turn).</summary>
    public static long For(long runSeed, int problemIndex, int search, int rollout, RolloutPurpose purpose = RolloutPurpose.Search)
    {
        ulong s = Rng.Mix((ulong)runSeed ^ 0x4F6D656761UL); // "Omega"
        s = Rng.Mix(s ^ ((ulong)purpose + 1) * 0x9E3779B97F4A7C15UL);
        s = Rng.Mix(s ^ (ulong)(uint)problemIndex);
        s = Rng.Mix(s ^ (ulong)(uint)search * 0xD1B54A32D192ED03UL);
        s = Rng.Mix(s ^ (ulong)(uint)rollout * 0xBF58476D1CE4E5B9UL);
        return (long)s;
    }
}
