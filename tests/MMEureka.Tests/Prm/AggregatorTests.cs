using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

public sealed class AggregatorTests
{
    // Expected values worked out by hand (ln 0.5 = -0.693147, ln 0.8 = -0.223144, ln 4 = 1.386294, ln 9999 = 9.210240).
    [Theory]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.Min, 0.5)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.Last, 0.8)]
    [InlineData(new[] { 0.8, 0.5 }, Aggregator.Last, 0.5)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.Product, 0.4)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.Average, 0.65)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.Max, 0.8)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.SumLogP, -0.916291)]
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.SumLogOdds, 1.386294)]       // ln 1 + ln 4
    [InlineData(new[] { 0.5, 0.8 }, Aggregator.MeanOdds, 2.5)]              // (1 + 4) / 2
    // Sentinels: log 0 -> -9999, odds of 1 -> 9999.
    [InlineData(new[] { 0.0, 0.5 }, Aggregator.SumLogP, -9999.693147)]
    [InlineData(new[] { 1.0, 0.5 }, Aggregator.SumLogP, -0.693147)]
    [InlineData(new[] { 1.0, 0.8 }, Aggregator.SumLogOdds, 10.596534)]      // ln 9999 + ln 4
    [InlineData(new[] { 0.0, 0.8 }, Aggregator.SumLogOdds, -9997.613706)]   // -9999 + ln 4
    [InlineData(new[] { 1.0, 0.5 }, Aggregator.MeanOdds, 5000)]             // (9999 + 1) / 2
    [InlineData(new[] { 0.0 }, Aggregator.MeanOdds, 0)]
    [InlineData(new[] { 0.0, 1.0 }, Aggregator.Product, 0)]
    public void AggregatesLikeMmPrm(double[] steps, Aggregator aggregator, double expected) =>
        Assert.Equal(expected, Aggregators.Aggregate(steps, aggregator), 5);

    [Fact]
    public void AnEmptyStepListScoresZeroUnderEveryAggregator()
    {
        foreach (var a in Aggregators.All) Assert.Equal(0.0, Aggregators.Aggregate([], a));
        Assert.Equal(8, Aggregators.All.Count);
    }

    [Theory]
    [InlineData(new[] { 0.3, 0.7, 0.7 }, 1)]
    [InlineData(new[] { 0.7, 0.3, 0.7 }, 0)]
    [InlineData(new[] { 0.2, 0.2, 0.2 }, 0)]
    [InlineData(new[] { 0.1, 0.2, 0.9 }, 2)]
    [InlineData(new[] { double.NaN, 0.2, 0.1 }, 1)]
    public void ArgMaxBreaksTiesToTheFirstCandidate(double[] values, int expected) => Assert.Equal(expected, Aggregators.ArgMax(values));

    [Fact]
    public void TiesBetweenSaturatedCandidatesGoToTheFirst()
    {
        // Two candidates with a certain step each: product and min tie at 1, the first is picked.
        var scores = new[] { new[] { 1.0, 1.0 }, new[] { 1.0, 1.0 } };
        foreach (var a in new[] { Aggregator.Min, Aggregator.Product, Aggregator.MeanOdds })
            Assert.Equal(0, Aggregators.ArgMax(scores.Select(s => Aggregators.Aggregate(s, a)).ToList()));
    }
}
