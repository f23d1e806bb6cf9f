using MMEureka.Rl;

namespace MMEureka.Tests.Rl;

public sealed class AdvantagesTests
{
    private static double[][] Run(AdvantageEstimator e, double[][] rewards, int[][]? lengths = null, double cOmega = 3) =>
        Advantages.Compute(e, rewards, (lengths ?? rewards.Select(g => g.Select(_ => 1).ToArray()).ToArray()).Select(l => (IReadOnlyList<int>)l).ToList(), cOmega);

    private static void Near(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 6);
    }

    [Fact]
    public void GroupNormDividesByTheUnbiasedStd()
    {
        // mean 0.5, unbiased std sqrt(1/3): +-0.5 / 0.57735 = +-0.866025 (the population std would give +-1).
        Near([0.866025, -0.866025, -0.866025, 0.866025], Run(AdvantageEstimator.GroupNorm, [[1, 0, 0, 1]])[0]);
        Near([0.866025, -0.866025, -0.866025, 0.866025], Run(AdvantageEstimator.CpgdStd, [[1, 0, 0, 1]])[0]);
        // Rewards 1.5 / 0.5 / 0 (accuracy + format): mean 2/3, std sqrt(((5/6)^2 + (1/6)^2 + (2/3)^2) / 2) = 0.763763.
        Near([1.091089, -0.218218, -0.872872], Run(AdvantageEstimator.GroupNorm, [[1.5, 0.5, 0]])[0]);
    }

    [Theory]
    [InlineData(AdvantageEstimator.GroupNorm)]
    [InlineData(AdvantageEstimator.Rloo)]
    [InlineData(AdvantageEstimator.DrGrpo)]
    [InlineData(AdvantageEstimator.CpgdEqual)]
    [InlineData(AdvantageEstimator.CpgdStd)]
    [InlineData(AdvantageEstimator.CpgdClipFilterLike)]
    public void AGroupWithEqualRewardsHasZeroAdvantage(AdvantageEstimator e)
    {
        foreach (var a in Run(e, [[1.5, 1.5, 1.5, 1.5], [0, 1, 0, 1]])[0]) Assert.Equal(0, a, 12);
    }

    [Fact]
    public void RlooSubtractsTheMeanOfTheOthers()
    {
        Near([1, -1.0 / 3, -1.0 / 3, -1.0 / 3], Run(AdvantageEstimator.Rloo, [[1, 0, 0, 0]])[0]);
        Near([0.75, -0.75], Run(AdvantageEstimator.Rloo, [[1.5, 0.75]])[0]);
    }

    [Fact]
    public void DrGrpoAndCpgdEqualCentreOnly()
    {
        Near([0.5, 0, -0.5], Run(AdvantageEstimator.DrGrpo, [[1, 0.5, 0]])[0]);
        Near([0.5, 0, -0.5], Run(AdvantageEstimator.CpgdEqual, [[1, 0.5, 0]])[0]);
    }

    [Fact]
    public void ReinforceBaselineWhitensOverTokens()
    {
        // Centred [0.5, -0.5] with 1 and 3 tokens: token mean -0.25, population variance 0.1875 -> std 0.4330127.
        Near([1.7320508, -0.5773503], Run(AdvantageEstimator.ReinforceBaseline, [[1, 0]], [[1, 3]])[0]);
        // Across groups: the whitening is over the whole batch, not per group.
        var a = Run(AdvantageEstimator.ReinforceBaseline, [[1, 0], [1, 1]], [[2, 2], [2, 2]]);
        // centred [0.5, -0.5, 0, 0], each 2 tokens: mean 0, variance 0.125 -> std 0.353553.
        Near([1.414214, -1.414214], a[0]);
        Near([0, 0], a[1]);
    }

    [Fact]
    public void ClipFilterLikeScalesByTheShareOfInformativeGroups()
    {
        var a = Run(AdvantageEstimator.CpgdClipFilterLike, [[1, 0], [1, 1], [0, 0], [0, 1]]);
        Near([1, -1], a[0]); // omega = min(3, 4 / 2) = 2 times +-0.5
        Near([-1, 1], a[3]);
        var capped = Run(AdvantageEstimator.CpgdClipFilterLike, [[1, 0], [1, 1], [0, 0], [0, 0]]);
        Near([1.5, -1.5], capped[0]); // min(3, 4 / 1) = 3
        Assert.Equal(1.5, Advantages.ClipFilterLikeOmega([[1, 0], [1, 1], [0, 0], [0, 0]], 1.5));
        Assert.Equal(1.0, Advantages.ClipFilterLikeOmega([[1, 1], [0, 0]], 3)); // all flat: 1
    }
}
