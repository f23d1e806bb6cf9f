using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Rl;

/// <summary>The per-token policy objective (PAPERS.md section 2).</summary>
public enum PolicyObjective
{
    /// <summary>GRPO / PPO: -min(r A, clip(r, 1-eps, 1+eps) A).</summary>
    PpoClip,
    /// <summary>PPO-clip, and where A &lt; 0 the loss is also capped at -c A (Ye et al.'s dual clip; MM-Eureka's c = 3).</summary>
    DualClip,
    /// <summary>-r A: the ratio, unclipped.</summary>
    NoClip,
    /// <summary>-ln(r) A: the plain policy gradient (REINFORCE) written on the log-ratio.</summary>
    Pg,
    /// <summary>CPGD Eq. 1: -min(ln r A, clip(ln r, ln(1-eps), ln(1+eps)) A).</summary>
    Cpg,
    /// <summary>CPG plus the policy drift term.</summary>
    Cpgd,
    /// <summary>PG plus the policy drift term.</summary>
    Pgd,
}

/// <summary>How per-token losses become one number (each a weighted sum; see <see cref="PolicyLoss.Weights"/>).</summary>
public enum LossAggregation
{
    /// <summary>CPGD Eq. 2: the token mean inside each group, then the mean over groups.</summary>
    GroupTokenMean,
    /// <summary>The token mean of each response, then the mean over responses (released MM-Eureka/CPGD code; TRL's <c>grpo</c>).</summary>
    SeqMean,
    /// <summary>One mean over all tokens of the batch (TRL's <c>bnpo</c> / <c>dapo</c>).</summary>
    TokenMean,
    /// <summary>The sum over tokens divided by responses x generation cap (Dr. GRPO).</summary>
    Constant,
}

/// <summary>Estimators of KL(pi_theta || pi_ref) from a sampled token (Schulman's k1, k2, k3).</summary>
public enum KlEstimator
{
    /// <summary>log pi - log pi_ref.</summary>
    K1,
    /// <summary>(log pi - log pi_ref)^2 / 2.</summary>
    K2,
    /// <summary>pi_ref/pi - log(pi_ref/pi) - 1 (non-negative, unbiased).</summary>
    K3,
}

/// <summary>Constants of the objectives; defaults are the papers' (CPGD: eps 0.2, alpha 0.01, c 2; MM-Eureka: dual clip c 3).</summary>
public sealed record LossSettings
{
    /// <summary>Clip range epsilon (ratio in [1-eps, 1+eps], log-ratio in [ln(1-eps), ln(1+eps)]).</summary>
    public double Eps { get; init; } = 0.2;
    /// <summary>Dual clip's cap c on the ratio where the advantage is negative.</summary>
    public double DualClipC { get; init; } = 3.0;
    /// <summary>Policy drift coefficient alpha.</summary>
    public double DriftAlpha { get; init; } = 0.01;
    /// <summary>Policy drift's clip c on sg(r) - 1.</summary>
    public double DriftC { get; init; } = 2.0;
    /// <summary>Reference KL coefficient (0 = none, the papers' default).</summary>
    public double KlCoef { get; init; }
    /// <summary>Which KL estimator the reference penalty uses.</summary>
    public KlEstimator KlEstimator { get; init; } = KlEstimator.K3;
    /// <summary>CPGD's tight-to-loose schedule: eps_i = lambda eps + (1 - lambda) eps i / |y|; 1 = a constant eps.</summary>
    public double ClipLambda { get; init; } = 1.0;

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public LossSettings Validate()
    {
        if (!(Eps > 0 && Eps < 1)) throw new ArgumentException($"loss eps must be in (0, 1), got {Eps}");
        if (!(DualClipC > 1)) throw new ArgumentException($"loss dual_clip_c must be above 1, got {DualClipC}");
        if (!(DriftAlpha >= 0)) throw new ArgumentException($"loss drift_alpha must be >= 0, got {DriftAlpha}");
        if (!(DriftC > 0)) throw new ArgumentException($"loss drift_c must be positive, got {DriftC}");
        if (!(KlCoef >= 0)) throw new ArgumentException($"loss kl_coef must be >= 0, got {KlCoef}");
        if (!(ClipLambda >= 0 && ClipLambda <= 1)) throw new ArgumentException($"loss clip_lambda must be in [0, 1], got {ClipLambda}");
        return this;
    }
}

/// <summary>
/// What one loss evaluation saw, over the real tokens: the fraction clipped below (A &lt; 0, ratio under 1-eps) and
/// above (A &gt; 0, ratio over 1+eps), the ratio's mean and extremes, the drift (k3 estimate of KL(pi_old || pi_theta)
/// per token) and the reference KL (0 when there is no reference).
/// </summary>
public sealed record LossStats(double ClipLow, double ClipHigh, double RatioMean, double RatioMax, double RatioMin,
    double DriftKl, double RefKl, int Tokens);

/// <summary>
/// The policy objectives as pure functions of per-token log-probabilities (tiny-grpo's loss.py shape):
/// <see cref="PerToken"/> gives each token's loss, <see cref="Weights"/> how the aggregation weighs it, and
/// <see cref="Compute"/> puts them together with the statistics. The trainer and <c>mmeureka rl loss</c> both call
/// <see cref="Compute"/>. Loss values follow the papers' forms (log-ratios, not the code's clamp on the absolute
/// log-probability; the gradients are the same).
/// </summary>
public static class PolicyLoss
{
    /// <summary>
    /// Per-token loss to minimise. <paramref name="logp"/>: log pi_theta of each token (with gradients);
    /// <paramref name="logpOld"/>: log pi_old (constant); <paramref name="adv"/>: each token's advantage;
    /// <paramref name="eps"/>: each token's clip range; all of one shape.
    /// </summary>
    public static Tensor PerToken(PolicyObjective objective, Tensor logp, Tensor logpOld, Tensor adv, Tensor eps, LossSettings s)
    {
        var logr = logp - logpOld;
        switch (objective)
        {
            case PolicyObjective.PpoClip:
                return PpoClip(logr, adv, eps);
            case PolicyObjective.DualClip:
            {
                // Dual clip (Ye et al. 2020; MM-Eureka report sec. 4.3): min(PPO-clip loss, -c A) where A < 0.
                var clipped = PpoClip(logr, adv, eps);
                return where(adv.lt(0f), clipped.minimum(adv * (float)-s.DualClipC), clipped);
            }
            case PolicyObjective.NoClip:
                return -(logr.exp() * adv);
            case PolicyObjective.Pg:
                return -(logr * adv);
            case PolicyObjective.Pgd:
                return -(logr * adv) + Drift(logp, logr, s);
            case PolicyObjective.Cpg:
                return Cpg(logr, adv, eps);
            case PolicyObjective.Cpgd:
                return Cpg(logr, adv, eps) + Drift(logp, logr, s);
            default:
                throw new ArgumentOutOfRangeException(nameof(objective), objective, null);
        }
    }

    // PPO (Schulman et al. 2017, Eq. 7): -min(r A, clip(r, 1-eps, 1+eps) A).
    private static Tensor PpoClip(Tensor logr, Tensor adv, Tensor eps)
    {
        var r = logr.exp();
        var clipped = r.maximum(eps.rsub(1f)).minimum(eps.add(1f));
        return -((r * adv).minimum(clipped * adv));
    }

    // CPGD Eq. 1: -min(ln r A, clip(ln r, ln(1-eps), ln(1+eps)) A).
    private static Tensor Cpg(Tensor logr, Tensor adv, Tensor eps)
    {
        var clipped = logr.maximum(eps.rsub(1f).log()).minimum(eps.add(1f).log());
        return -((logr * adv).minimum(clipped * adv));
    }

    // CPGD's policy drift (Eq. 2's second term): + alpha * min(sg(r) - 1, c) * ln pi_theta. The clip acts on the
    // weight, not on the estimator, so a ratio far above c + 1 is still pushed back.
    private static Tensor Drift(Tensor logp, Tensor logr, LossSettings s)
    {
        if (s.DriftAlpha == 0) return zeros_like(logp);
        var weight = logr.detach().exp().sub(1f).clamp(max: (float)s.DriftC);
        return logp * weight * (float)s.DriftAlpha;
    }

    /// <summary>Per-token estimate of KL(pi_theta || pi_ref) from the sampled token.</summary>
    public static Tensor Kl(KlEstimator estimator, Tensor logp, Tensor logpRef)
    {
        var d = logp - logpRef;
        return estimator switch
        {
            KlEstimator.K1 => d,
            KlEstimator.K2 => d.square() * 0.5f,
            KlEstimator.K3 => d.neg().exp() + d - 1f, // ref/pi - log(ref/pi) - 1
            _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, null),
        };
    }

    /// <summary>
    /// Each token's weight in the aggregated loss (the loss is sum(weight * per-token loss)), for responses of
    /// <paramref name="lengths"/> tokens laid out [B, <paramref name="lmax"/>], response b in group
    /// <paramref name="group"/>[b]; <paramref name="maxLen"/> is Dr. GRPO's generation cap.
    /// </summary>
    public static float[] Weights(LossAggregation aggregation, IReadOnlyList<int> lengths, IReadOnlyList<int> group, int lmax, int maxLen)
    {
        int b = lengths.Count;
        if (group.Count != b) throw new ArgumentException($"{group.Count} group indices for {b} responses");
        var w = new float[b * lmax];
        var groupTokens = new Dictionary<int, int>();
        for (int r = 0; r < b; r++) groupTokens[group[r]] = groupTokens.GetValueOrDefault(group[r]) + lengths[r];
        int groups = groupTokens.Count, total = lengths.Sum();
        for (int r = 0; r < b; r++)
        {
            if (lengths[r] > lmax) throw new ArgumentException($"response {r} has {lengths[r]} tokens, more than the row width {lmax}");
            double wr = aggregation switch
            {
                LossAggregation.GroupTokenMean => 1.0 / (groupTokens[group[r]] * (double)groups),
                LossAggregation.SeqMean => 1.0 / (lengths[r] * (double)b),
                LossAggregation.TokenMean => 1.0 / total,
                LossAggregation.Constant => 1.0 / (b * (double)maxLen),
                _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, null),
            };
            if (lengths[r] == 0) continue;
            for (int k = 0; k < lengths[r]; k++) w[r * lmax + k] = (float)wr;
        }
        return w;
    }

    /// <summary>
    /// Token i's clip range (1-based i of a response of length n): CPGD's tight-to-loose schedule
    /// eps_i = lambda eps + (1 - lambda) eps i / n; lambda = 1 gives eps everywhere.
    /// </summary>
    public static float[] ClipRanges(LossSettings s, IReadOnlyList<int> lengths, int lmax)
    {
        var e = new float[lengths.Count * lmax];
        for (int r = 0; r < lengths.Count; r++)
            for (int k = 0; k < lmax; k++)
                e[r * lmax + k] = k < lengths[r]
                    ? (float)(s.ClipLambda * s.Eps + (1 - s.ClipLambda) * s.Eps * (k + 1) / lengths[r])
                    : (float)s.Eps;
        return e;
    }

    /// <summary>
    /// The aggregated loss of a minibatch and its statistics. <paramref name="logp"/> [B, L] has gradients;
    /// <paramref name="logpOld"/>, <paramref name="adv"/>, <paramref name="mask"/> and <paramref name="logpRef"/>
    /// (needed when KlCoef &gt; 0) are laid out the same way; <paramref name="lengths"/>, <paramref name="group"/>
    /// per response.
    /// </summary>
    public static (Tensor loss, LossStats stats) Compute(PolicyObjective objective, LossSettings s, LossAggregation aggregation,
        Tensor logp, float[] logpOld, float[] adv, float[] mask, IReadOnlyList<int> lengths, IReadOnlyList<int> group,
        int maxLen, float[]? logpRef = null)
    {
        s.Validate();
        long b = logp.size(0), l = logp.size(1);
        if (logpOld.Length != b * l || adv.Length != b * l || mask.Length != b * l)
            throw new ArgumentException($"per-token arrays must have {b} x {l} = {b * l} values");
        if (s.KlCoef > 0 && (logpRef == null || logpRef.Length != b * l))
            throw new ArgumentException("a reference KL needs the reference log-probabilities of every token");
        var old = tensor(logpOld, b, l);
        var a = tensor(adv, b, l);
        var perToken = PerToken(objective, logp, old, a, tensor(ClipRanges(s, lengths, (int)l), b, l), s);
        Tensor? refKl = null;
        if (s.KlCoef > 0)
        {
            refKl = Kl(s.KlEstimator, logp, tensor(logpRef!, b, l));
            perToken = perToken + refKl * (float)s.KlCoef;
        }
        var w = tensor(Weights(aggregation, lengths, group, (int)l, maxLen), b, l);
        var loss = (perToken * w).sum();
        return (loss, Stats(logp.detach().data<float>(), logpOld, adv, mask, s, lengths, (int)l, refKl?.detach().data<float>()));
    }

    private static LossStats Stats(float[] logp, float[] logpOld, float[] adv, float[] mask, LossSettings s,
        IReadOnlyList<int> lengths, int lmax, float[]? refKl)
    {
        var eps = ClipRanges(s, lengths, lmax);
        int n = 0, low = 0, high = 0;
        double sum = 0, max = double.NegativeInfinity, min = double.PositiveInfinity, drift = 0, kl = 0;
        for (int i = 0; i < logp.Length; i++)
        {
            if (mask[i] == 0) continue;
            double logr = logp[i] - (double)logpOld[i], r = Math.Exp(logr);
            n++;
            sum += r;
            max = Math.Max(max, r);
            min = Math.Min(min, r);
            if (adv[i] < 0 && r < 1 - eps[i]) low++;
            if (adv[i] > 0 && r > 1 + eps[i]) high++;
            drift += r - logr - 1; // k3 of KL(pi_old || pi_theta) from tokens drawn by pi_old: the drift CPGD penalises
            if (refKl != null) kl += refKl[i];
        }
        if (n == 0) return new LossStats(0, 0, 1, 1, 1, 0, 0, 0);
        return new LossStats(low / (double)n, high / (double)n, sum / n, max, min, drift / n, kl / n, n);
    }
}
