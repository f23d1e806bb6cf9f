namespace MMEureka.Rl;

/// <summary>
/// How a response's reward becomes its advantage (OpenRLHF's estimator names; CPGD's weights omega as the
/// <c>cpgd_*</c> members). Every estimator but <see cref="ReinforceBaseline"/> looks at one group (the responses to
/// one prompt) at a time.
/// </summary>
public enum AdvantageEstimator
{
    /// <summary>GRPO: (R - mean) / (std + 1e-9), unbiased std of the group.</summary>
    GroupNorm,
    /// <summary>RLOO: R minus the mean of the other responses of the group; not whitened.</summary>
    Rloo,
    /// <summary>REINFORCE++ (OpenRLHF's reinforce_baseline): R - group mean, then whitened over every action token of the batch.</summary>
    ReinforceBaseline,
    /// <summary>Dr. GRPO: R - group mean (no std; its loss is a constant-normalised sum).</summary>
    DrGrpo,
    /// <summary>CPGD with omega = 1: R - group mean.</summary>
    CpgdEqual,
    /// <summary>CPGD with omega = 1 / std: the same numbers as <see cref="GroupNorm"/>.</summary>
    CpgdStd,
    /// <summary>CPGD's clip-filter-like omega = min(c_omega, groups / groups with unequal rewards) times (R - mean).</summary>
    CpgdClipFilterLike,
}

/// <summary>
/// Advantage estimators: one small function per estimator over one group's rewards, chosen by
/// <see cref="Compute"/>. Conventions follow the papers' public code (PAPERS.md section 2): the unbiased std + 1e-9,
/// RLOO unwhitened, REINFORCE++ whitened with a token-weighted mean and population variance floored at 1e-8.
/// </summary>
public static class Advantages
{
    /// <summary>Added to the std in <see cref="GroupNorm"/> (OpenRLHF's and CPGD's code).</summary>
    public const double StdEps = 1e-9;

    /// <summary>
    /// Advantages of a batch of groups: <paramref name="rewards"/>[g][k] is response k of group g, with
    /// <paramref name="lengths"/>[g][k] action tokens (used by the batch whitening of REINFORCE++ only).
    /// </summary>
    public static double[][] Compute(AdvantageEstimator estimator, IReadOnlyList<IReadOnlyList<double>> rewards,
        IReadOnlyList<IReadOnlyList<int>> lengths, double cOmega = 3.0) => estimator switch
    {
        AdvantageEstimator.GroupNorm or AdvantageEstimator.CpgdStd => rewards.Select(GroupNorm).ToArray(),
        AdvantageEstimator.Rloo => rewards.Select(Rloo).ToArray(),
        AdvantageEstimator.DrGrpo or AdvantageEstimator.CpgdEqual => rewards.Select(MeanCentered).ToArray(),
        AdvantageEstimator.ReinforceBaseline => WhitenOverTokens(rewards.Select(MeanCentered).ToArray(), lengths),
        AdvantageEstimator.CpgdClipFilterLike => Scale(rewards.Select(MeanCentered).ToArray(), ClipFilterLikeOmega(rewards, cOmega)),
        _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, null),
    };

    /// <summary>GRPO (DeepSeekMath Eq. 3's outcome supervision): A = (R - mean) / (std + 1e-9), unbiased std; a
    /// group of one has no spread and gets 0.</summary>
    public static double[] GroupNorm(IReadOnlyList<double> r)
    {
        if (r.Count < 2) return new double[r.Count];
        double mean = r.Average();
        double std = Math.Sqrt(r.Sum(x => (x - mean) * (x - mean)) / (r.Count - 1));
        return r.Select(x => (x - mean) / (std + StdEps)).ToArray();
    }

    /// <summary>RLOO (Ahmadian et al. 2024): A = R - (sum - R) / (n - 1), the mean of the other responses as baseline.</summary>
    public static double[] Rloo(IReadOnlyList<double> r)
    {
        if (r.Count < 2) return new double[r.Count];
        double sum = r.Sum();
        return r.Select(x => x - (sum - x) / (r.Count - 1)).ToArray();
    }

    /// <summary>A = R - mean of the group (Dr. GRPO; CPGD with omega = 1; REINFORCE++ before whitening).</summary>
    public static double[] MeanCentered(IReadOnlyList<double> r)
    {
        if (r.Count == 0) return [];
        double mean = r.Average();
        return r.Select(x => x - mean).ToArray();
    }

    /// <summary>
    /// REINFORCE++'s batch whitening: every token of a response carries its response's advantage, so the mean and
    /// (population) variance are taken over all action tokens of the batch; the variance is floored at 1e-8.
    /// </summary>
    public static double[][] WhitenOverTokens(double[][] a, IReadOnlyList<IReadOnlyList<int>> lengths)
    {
        if (lengths.Count != a.Length) throw new ArgumentException($"{lengths.Count} length groups for {a.Length} advantage groups");
        double tokens = 0, sum = 0;
        for (int g = 0; g < a.Length; g++)
            for (int k = 0; k < a[g].Length; k++) { tokens += lengths[g][k]; sum += a[g][k] * lengths[g][k]; }
        if (tokens == 0) return a.Select(x => x.ToArray()).ToArray();
        double mean = sum / tokens, sq = 0;
        for (int g = 0; g < a.Length; g++)
            for (int k = 0; k < a[g].Length; k++) sq += (a[g][k] - mean) * (a[g][k] - mean) * lengths[g][k];
        double rstd = 1 / Math.Sqrt(Math.Max(sq / tokens, 1e-8));
        return a.Select(x => x.Select(v => (v - mean) * rstd).ToArray()).ToArray();
    }

    /// <summary>
    /// CPGD's clip-filter-like weight: min(c_omega, groups / groups whose rewards are not all equal), 1 when every
    /// group is flat. Flat groups get zero advantage anyway, so this scales the rest up as if they had been filtered.
    /// </summary>
    public static double ClipFilterLikeOmega(IReadOnlyList<IReadOnlyList<double>> rewards, double cOmega)
    {
        int informative = rewards.Count(g => g.Count > 0 && g.Any(x => x != g[0]));
        return informative == 0 ? 1.0 : Math.Min(cOmega, rewards.Count / (double)informative);
    }

    private static double[][] Scale(double[][] a, double omega) => a.Select(x => x.Select(v => v * omega).ToArray()).ToArray();
}
