using MMEureka.Rl;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Rl;

public sealed class PolicyLossTests
{
    /// <summary>One token: its loss and d loss / d logp at ratio r (logp_new = <paramref name="logp"/>).</summary>
    private static (double loss, double grad) OneToken(PolicyObjective o, double r, double adv, double logp = -1, LossSettings? s = null)
    {
        s ??= new LossSettings();
        var x = tensor([(float)logp], [1], requires_grad: true);
        var old = tensor([(float)(logp - Math.Log(r))], 1);
        var loss = PolicyLoss.PerToken(o, x, old, tensor([(float)adv], 1), tensor([(float)s.Eps], 1), s).sum();
        loss.backward();
        return (loss.item<float>(), x.grad!.item<float>());
    }

    [Theory]
    // PPO-clip: a ratio past 1 + eps with A > 0 is clipped (no gradient); with A < 0 the unclipped term wins.
    [InlineData(PolicyObjective.PpoClip, 1.5, 1, -1.2, 0)]
    [InlineData(PolicyObjective.PpoClip, 1.5, -1, 1.5, 1.5)]
    [InlineData(PolicyObjective.PpoClip, 0.5, -1, 0.8, 0)]
    [InlineData(PolicyObjective.PpoClip, 0.5, 1, -0.5, -0.5)]
    [InlineData(PolicyObjective.PpoClip, 1.0, 2, -2, -2)]
    // Dual clip: with A < 0 the loss is capped at -c A = 3 (ratio 5 would give 5), so no gradient past r = 3.
    [InlineData(PolicyObjective.DualClip, 5.0, -1, 3, 0)]
    [InlineData(PolicyObjective.DualClip, 2.0, -1, 2, 2)]
    [InlineData(PolicyObjective.DualClip, 5.0, 1, -1.2, 0)]
    // No clip: -r A, gradient -r A at any ratio.
    [InlineData(PolicyObjective.NoClip, 1.5, 1, -1.5, -1.5)]
    [InlineData(PolicyObjective.NoClip, 10, -1, 10, 10)]
    // PG on the log-ratio: -ln(r) A, gradient -A whatever the ratio.
    [InlineData(PolicyObjective.Pg, 1.5, 1, -0.4054651, -1)]
    [InlineData(PolicyObjective.Pg, 10, -1, 2.3025851, 1)]
    // CPG (CPGD Eq. 1): the log-ratio clipped to [ln 0.8, ln 1.2] = [-0.2231436, 0.1823216].
    [InlineData(PolicyObjective.Cpg, 1.5, 1, -0.1823216, 0)]
    [InlineData(PolicyObjective.Cpg, 1.5, -1, 0.4054651, 1)]
    [InlineData(PolicyObjective.Cpg, 0.5, -1, -0.2231436, 0)]
    [InlineData(PolicyObjective.Cpg, 0.5, 1, 0.6931472, -1)]
    [InlineData(PolicyObjective.Cpg, 1.1, 2, -0.1906204, -2)]
    public void PerTokenLossAndGradient(PolicyObjective o, double r, double adv, double loss, double grad)
    {
        var (l, g) = OneToken(o, r, adv);
        Assert.Equal(loss, l, 5);
        Assert.Equal(grad, g, 5);
    }

    [Theory]
    // Drift alone (A = 0): alpha * min(r - 1, c) * logp; gradient alpha * min(r - 1, c). logp = -1.
    [InlineData(PolicyObjective.Cpgd, 2.0, -0.01, 0.01)]
    [InlineData(PolicyObjective.Cpgd, 4.0, -0.02, 0.02)]   // r - 1 = 3 is clipped at c = 2, yet still pushes back
    [InlineData(PolicyObjective.Cpgd, 50.0, -0.02, 0.02)]
    [InlineData(PolicyObjective.Pgd, 0.5, 0.005, -0.005)]  // below 1 the weight is negative: pulls the token up
    [InlineData(PolicyObjective.Cpgd, 1.0, 0, 0)]
    public void PolicyDriftIsClippedOnTheWeightNotTheEstimator(PolicyObjective o, double r, double loss, double grad)
    {
        var (l, g) = OneToken(o, r, adv: 0);
        Assert.Equal(loss, l, 6);
        Assert.Equal(grad, g, 6);
    }

    [Fact]
    public void CpgdIsCpgPlusDrift()
    {
        var (cpg, gc) = OneToken(PolicyObjective.Cpg, 3.0, -1);
        var (cpgd, gd) = OneToken(PolicyObjective.Cpgd, 3.0, -1);
        Assert.Equal(cpg - 0.02, cpgd, 5); // alpha 0.01 * min(2, 2) * logp(-1)
        Assert.Equal(gc + 0.02, gd, 5);
    }

    [Theory]
    [InlineData(KlEstimator.K1, 0.5, 0.5)]
    [InlineData(KlEstimator.K2, 0.5, 0.125)]
    [InlineData(KlEstimator.K3, 0.5, 0.1065307)] // exp(-0.5) + 0.5 - 1
    [InlineData(KlEstimator.K3, -0.5, 0.1487213)] // exp(0.5) - 0.5 - 1
    public void KlEstimators(KlEstimator e, double d, double expected) =>
        Assert.Equal(expected, PolicyLoss.Kl(e, tensor([(float)d - 1], 1), tensor([-1f], 1)).item<float>(), 5);

    [Fact]
    public void AggregationWeights()
    {
        int[] lengths = [2, 4, 2], group = [0, 0, 1];
        float[] W(LossAggregation a) => PolicyLoss.Weights(a, lengths, group, 4, 10);
        Assert.Equal([1 / 6f, 1 / 6f, 0, 0, 1 / 12f, 1 / 12f, 1 / 12f, 1 / 12f, 1 / 6f, 1 / 6f, 0, 0], W(LossAggregation.SeqMean));
        Assert.Equal([1 / 8f, 1 / 8f, 0, 0, 1 / 8f, 1 / 8f, 1 / 8f, 1 / 8f, 1 / 8f, 1 / 8f, 0, 0], W(LossAggregation.TokenMean));
        // CPGD Eq. 2: group 0 has 6 tokens, group 1 has 2; two groups.
        Assert.Equal([1 / 12f, 1 / 12f, 0, 0, 1 / 12f, 1 / 12f, 1 / 12f, 1 / 12f, 1 / 4f, 1 / 4f, 0, 0], W(LossAggregation.GroupTokenMean));
        Assert.Equal([1 / 30f, 1 / 30f, 0, 0, 1 / 30f, 1 / 30f, 1 / 30f, 1 / 30f, 1 / 30f, 1 / 30f, 0, 0], W(LossAggregation.Constant));
    }

    [Fact]
    public void ClipScheduleGoesFromTightToLoose()
    {
        var s = new LossSettings { Eps = 0.2, ClipLambda = 0.5 };
        var e = PolicyLoss.ClipRanges(s, [4], 4);
        Assert.Equal([0.125f, 0.15f, 0.175f, 0.2f], e.Select(x => MathF.Round(x, 6)).ToArray());
        Assert.All(PolicyLoss.ClipRanges(new LossSettings(), [3], 3), x => Assert.Equal(0.2f, x));
    }

    [Theory]
    [InlineData(PolicyObjective.PpoClip)]
    [InlineData(PolicyObjective.DualClip)]
    [InlineData(PolicyObjective.NoClip)]
    [InlineData(PolicyObjective.Pg)]
    [InlineData(PolicyObjective.Cpg)]
    // Not Cpgd / Pgd: the drift's weight min(sg(r) - 1, c) is stop-gradient by design, so its gradient is not the
    // derivative of its value; PolicyDriftIsClippedOnTheWeightNotTheEstimator and CpgdIsCpgPlusDrift check it.
    public void GradientMatchesFiniteDifferences(PolicyObjective o)
    {
        // Ratios spread over [0.3, 4], away from the clip kinks (finite differences straddling a kink disagree).
        var rng = new Random(3);
        int n = 24;
        var logp = new float[n];
        var old = new float[n];
        var adv = new float[n];
        var s = new LossSettings { KlCoef = 0.05 };
        for (int i = 0; i < n; i++)
        {
            double r;
            do r = 0.3 + rng.NextDouble() * 3.7; while (Math.Abs(r - 0.8) < 0.05 || Math.Abs(r - 1.2) < 0.05 || Math.Abs(r - 3) < 0.05);
            logp[i] = (float)(-0.2 - rng.NextDouble() * 3);
            old[i] = logp[i] - (float)Math.Log(r);
            adv[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        var refLp = logp.Select(x => x - 0.3f).ToArray();
        var result = autograd.gradcheck(x =>
            PolicyLoss.PerToken(o, x[0], tensor(old, n), tensor(adv, n), full([n], 0.2f), s) +
            PolicyLoss.Kl(KlEstimator.K3, x[0], tensor(refLp, n)) * 0.05f,
            [tensor(logp, [n], requires_grad: true)]);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void ComputeReportsClipFractionsAndRatios()
    {
        // Two responses of 2 tokens; ratios 1.5 (A > 0: clipped high), 1.0, 0.5 (A < 0: clipped low), 1.0.
        float[] logp = [-1, -1, -1, -1];
        float[] old = [-1 - MathF.Log(1.5f), -1, -1 - MathF.Log(0.5f), -1];
        float[] adv = [1, 1, -1, -1];
        var x = tensor(logp, [2, 2], requires_grad: true);
        var (loss, stats) = PolicyLoss.Compute(PolicyObjective.PpoClip, new LossSettings(), LossAggregation.TokenMean, x, old, adv,
            [1, 1, 1, 1], [2, 2], [0, 1], 2);
        Assert.Equal(0.25, stats.ClipHigh, 6);
        Assert.Equal(0.25, stats.ClipLow, 6);
        Assert.Equal(1.5, stats.RatioMax, 5);
        Assert.Equal(0.5, stats.RatioMin, 5);
        Assert.Equal(1.0, stats.RatioMean, 5);
        // Token mean of -1.2, -1, 0.8 (clip(0.5) = 0.8 times -A... -min(-0.5, -0.8) = 0.8), +1 = -0.1.
        Assert.Equal(-0.1, loss.item<float>(), 5);
    }
}
